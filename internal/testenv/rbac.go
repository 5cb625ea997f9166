package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
)

// ServiceAccountUser is the user name the apiserver gives the ServiceAccount ns/name, and its groups.
func ServiceAccountUser(ns, name string) (string, []string) {
	return "system:serviceaccount:" + ns + ":" + name,
		[]string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
}

// ApplyRBAC creates or updates the Namespaces, ServiceAccounts, Roles, RoleBindings, ClusterRoles and
// ClusterRoleBindings in the YAML documents (e.g. manifests/ rendered by kustomize); namespaced objects
// without a namespace go to defaultNS. Other kinds fail the test: only what RBAC needs is applied.
func (e *Env) ApplyRBAC(t testing.TB, docs []byte, defaultNS string) {
	t.Helper()
	cs := e.Clientset(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(docs), 4096)
	for {
		var raw runtime.RawExtension
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			return
		} else if err != nil {
			t.Fatalf("RBAC manifests: %v", err)
		}
		if len(bytes.TrimSpace(raw.Raw)) == 0 {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(raw.Raw, nil, nil)
		if err != nil {
			t.Fatalf("RBAC manifests: %v", err)
		}
		if err := applyRBACObject(ctx, cs, obj, defaultNS); err != nil {
			t.Fatalf("applying %T: %v", obj, err)
		}
	}
}

func applyRBACObject(ctx context.Context, cs kubernetes.Interface, obj runtime.Object, defaultNS string) error {
	ns := func(m *metav1.ObjectMeta) string {
		if m.Namespace == "" {
			m.Namespace = defaultNS
		}
		return m.Namespace
	}
	switch o := obj.(type) {
	case *corev1.Namespace:
		return createOrUpdate(ctx, o, cs.CoreV1().Namespaces())
	case *corev1.ServiceAccount:
		return createOrUpdate(ctx, o, cs.CoreV1().ServiceAccounts(ns(&o.ObjectMeta)))
	case *rbacv1.Role:
		return createOrUpdate(ctx, o, cs.RbacV1().Roles(ns(&o.ObjectMeta)))
	case *rbacv1.RoleBinding:
		return createOrUpdate(ctx, o, cs.RbacV1().RoleBindings(ns(&o.ObjectMeta)))
	case *rbacv1.ClusterRole:
		return createOrUpdate(ctx, o, cs.RbacV1().ClusterRoles())
	case *rbacv1.ClusterRoleBinding:
		return createOrUpdate(ctx, o, cs.RbacV1().ClusterRoleBindings())
	}
	return fmt.Errorf("not an RBAC object")
}

// objectClient is the create/get/update part of a typed client-go resource client.
type objectClient[T any] interface {
	Create(context.Context, T, metav1.CreateOptions) (T, error)
	Get(context.Context, string, metav1.GetOptions) (T, error)
	Update(context.Context, T, metav1.UpdateOptions) (T, error)
}

// createOrUpdate makes the object as given: tests share one apiserver, so a second test applying the
// same ClusterRole updates it to the same content. Tests run in parallel apply it at once: a conflict
// (another test updated it between our get and update) is retried.
func createOrUpdate[T interface {
	runtime.Object
	metav1.Object
}](ctx context.Context, o T, c objectClient[T]) error {
	_, err := c.Create(ctx, o, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := c.Get(ctx, o.GetName(), metav1.GetOptions{})
		if err != nil {
			return err
		}
		o.SetResourceVersion(cur.GetResourceVersion())
		_, err = c.Update(ctx, o, metav1.UpdateOptions{})
		return err
	})
}

// ImpersonatingConfig is the admin config acting as the ServiceAccount ns/name (with its groups), so
// the apiserver authorizes every request with that account's roles.
func (e *Env) ImpersonatingConfig(ns, name string) *rest.Config {
	cfg := rest.CopyConfig(e.RestConfig)
	user, groups := ServiceAccountUser(ns, name)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	return cfg
}

// ImpersonatingKubeconfig writes a kubeconfig (in a test temp dir) that acts as the ServiceAccount
// ns/name: what `fixloop serve --kubeconfig` is given to run with the roles of manifests/.
func (e *Env) ImpersonatingKubeconfig(t testing.TB, ns, name string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(e.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	user, groups := ServiceAccountUser(ns, name)
	for _, ai := range cfg.AuthInfos {
		ai.Impersonate, ai.ImpersonateGroups = user, groups
	}
	path := filepath.Join(t.TempDir(), "kubeconfig-"+ns+"-"+name)
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
