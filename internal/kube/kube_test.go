package kube

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestForbiddenNamesTheMissingPermission(t *testing.T) {
	denied := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "",
		errors.New(`User "system:serviceaccount:fixloop:fixloop" cannot list resource "pods" in API group "" in the namespace "payments"`))
	err := Explain(denied, "https://k8s", "listing pods")
	for _, want := range []string{`system:serviceaccount:fixloop:fixloop lacks permission "list" on "pods"`, `in namespace "payments"`, "manifests/namespaced"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\nlacks %q", err, want)
		}
	}
	var ke *Error
	if !errors.As(err, &ke) || ke.Kind != KindForbidden {
		t.Errorf("kind: %v", err)
	}
}
