package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// ServiceAccount tokens are checked by the real kube-apiserver's TokenReview: audience-bound, revocable
// (a token bound to a deleted object dies with it), forgeries refused; scopes come from the auth file.
func TestTokenReviewAgainstTheAPIServer(t *testing.T) {
	e := testenv.Get(t)
	ns := e.NewNamespace(t, "authn")
	cs := e.Clientset(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, name := range []string{"argo", "stranger"} {
		if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	secret, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "binding"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	token := func(sa string, audiences []string, bound *authv1.BoundObjectReference) string {
		t.Helper()
		tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{Audiences: audiences, BoundObjectRef: bound}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("TokenRequest for %s: %v", sa, err)
		}
		return tr.Status.Token
	}
	static, err := auth.NewStatic(writeAuthFile(t, "serviceAccounts:\n- name: "+ns+"/argo\n  scopes: [read, write]\n"))
	if err != nil {
		t.Fatal(err)
	}
	rv, err := auth.NewTokenReviewer(cs, "fixloop", static.ServiceAccountScopes)
	if err != nil {
		t.Fatal(err)
	}
	a := &auth.Authenticator{Static: static, Reviewer: rv}

	id, err := a.AuthenticateToken(ctx, token("argo", []string{"fixloop"}, nil))
	if err != nil {
		t.Fatalf("audience-bound token of a granted ServiceAccount refused: %v", err)
	}
	if id.Name != "system:serviceaccount:"+ns+":argo" || !id.Has(auth.ScopeWrite) || id.Has(auth.ScopeIssue) {
		t.Fatalf("identity = %+v", id)
	}
	if id, err := a.AuthenticateToken(ctx, token("stranger", []string{"fixloop"}, nil)); err != nil || len(id.Scopes) != 0 {
		t.Fatalf("a ServiceAccount the auth file does not list must authenticate with no scope: %+v, %v", id, err)
	}
	if _, err := a.AuthenticateToken(ctx, token("argo", nil, nil)); err == nil || !strings.Contains(err.Error(), "audience") && !strings.Contains(err.Error(), "refused") {
		t.Fatalf("token for the apiserver's default audience accepted (err %v)", err)
	}
	good := token("argo", []string{"fixloop"}, nil)
	if _, err := a.AuthenticateToken(ctx, good[:len(good)-6]+"AAAAAA"); err == nil {
		t.Fatal("forged token accepted")
	}
	bound := token("argo", []string{"fixloop"}, &authv1.BoundObjectReference{Kind: "Secret", APIVersion: "v1", Name: secret.Name, UID: secret.UID})
	if _, err := a.AuthenticateToken(ctx, bound); err != nil {
		t.Fatalf("bound token refused while its object exists: %v", err)
	}
	if err := cs.CoreV1().Secrets(ns).Delete(ctx, secret.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// A fresh reviewer (no cache): the apiserver now refuses the token whose object is gone.
	testenv.WaitFor(t, "the token bound to a deleted Secret to be refused", 500*time.Millisecond, 30*time.Second, func() (bool, string) {
		rv2, _ := auth.NewTokenReviewer(cs, "fixloop", static.ServiceAccountScopes)
		_, err := (&auth.Authenticator{Reviewer: rv2}).AuthenticateToken(ctx, bound)
		return err != nil, "still accepted"
	})
}
