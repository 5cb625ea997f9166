package kube_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/testenv"
)

func readManifests(t *testing.T, files ...string) []byte {
	t.Helper()
	var all []string
	for _, f := range files {
		raw, err := os.ReadFile("../../manifests/" + f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, string(raw))
	}
	return []byte(strings.Join(all, "\n---\n"))
}

// exercise does what fixloop does to a canary: read the rollout, list its pods, read a log, and
// abort it (patch rollouts/status). It returns the first error.
func exercise(ctx context.Context, c *kube.Cluster, ns, name string) error {
	ro, err := c.GetRollout(ctx, ns, name)
	if err != nil {
		return err
	}
	pods, err := c.Typed().CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: ro.Selector})
	if err != nil {
		return kube.Explain(err, c.Server(), "listing pods of "+ns+"/"+name)
	}
	if len(pods.Items) > 0 {
		var logErr error
		_ = c.PodLogs(ctx, []kube.LogRequest{{Namespace: ns, Pod: pods.Items[0].Name, TailLines: 5}}, 1, func(r kube.LogResult) { logErr = r.Err })
		if logErr != nil {
			return logErr
		}
	}
	_, err = c.PatchRollout(ctx, ns, name, []byte(`{"status":{"abort":true}}`), nil)
	return err
}

// fixloop as shipped: the ServiceAccount of manifests/ bound to its ClusterRole reads and aborts a
// rollout in any namespace, and is refused what the ClusterRole does not grant (secrets), the error
// naming the missing permission.
func TestShippedClusterRoleOnRealCluster(t *testing.T) {
	e := testenv.Get(t)
	e.ApplyRBAC(t, readManifests(t, "namespace.yaml", "serviceaccount.yaml", "rbac.yaml"), "fixloop")
	c, err := kube.NewFromConfig(e.ImpersonatingConfig("fixloop", "fixloop"), "as-fixloop", kube.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ns := e.NewNamespace(t, "rbac")
	e.DeployDemoRollout(t, ns, testenv.DemoRollout{Name: "web", Replicas: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := exercise(ctx, c, ns, "web"); err != nil {
		t.Fatalf("the shipped ClusterRole does not cover what fixloop does: %v", err)
	}
	_, err = c.Typed().CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	err = kube.Explain(err, c.Server(), "listing secrets")
	if !kube.IsKind(err, kube.KindForbidden) || !strings.Contains(err.Error(), `lacks permission "list" on "secrets"`) {
		t.Fatalf("reading secrets as fixloop: want a denial naming the permission, got %v", err)
	}
}

// The namespaced variant (manifests/namespaced): a Role in the application namespace covers the same
// work there; in another namespace the first call is refused with an error naming verb, resource, API
// group and namespace.
func TestNamespacedRoleOnRealCluster(t *testing.T) {
	e := testenv.Get(t)
	granted, other := e.NewNamespace(t, "rbac-ns"), e.NewNamespace(t, "rbac-other")
	// A ServiceAccount of its own (fixloop-scoped/fixloop), so the shipped ClusterRole binding of
	// fixloop/fixloop applied by other tests grants it nothing.
	role := strings.NewReplacer("namespace: shop", "namespace: "+granted, "namespace: fixloop", "namespace: fixloop-scoped").
		Replace(string(readManifests(t, "namespaced/role.yaml")))
	e.ApplyRBAC(t, []byte(role), granted)
	c, err := kube.NewFromConfig(e.ImpersonatingConfig("fixloop-scoped", "fixloop"), "as-fixloop-scoped", kube.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.DeployDemoRollout(t, granted, testenv.DemoRollout{Name: "web", Replicas: 2})
	e.DeployDemoRollout(t, other, testenv.DemoRollout{Name: "web", Replicas: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := exercise(ctx, c, granted, "web"); err != nil {
		t.Fatalf("the namespaced Role does not cover what fixloop does in its namespace: %v", err)
	}
	err = exercise(ctx, c, other, "web")
	want := `system:serviceaccount:fixloop-scoped:fixloop lacks permission "get" on "rollouts" (apiGroups: ["argoproj.io"]) in namespace "` + other + `"`
	if !kube.IsKind(err, kube.KindForbidden) || !strings.Contains(err.Error(), want) {
		t.Fatalf("outside the granted namespace: want %s, got %v", want, err)
	}
}
