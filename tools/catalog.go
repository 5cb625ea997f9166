package tools

import (
	"context"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fixloop/fixloop/internal/kube"
)

// The catalog lists what fixloop can see in the cluster by name: namespaces, rollouts and workloads. The
// agents offer these as candidates when a request is missing a name, and MCP completions suggest them.
// Every call is bounded (catalogTimeout, catalogLimit) because it runs while a user waits.

const (
	catalogTimeout = 5 * time.Second
	catalogLimit   = 200
)

// WorkloadKinds are the kinds a workload reference may carry ("rollout/web", "deployment/api").
var WorkloadKinds = []string{"rollout", "deployment", "statefulset", "daemonset"}

// ListNamespaces returns the cluster's namespace names, sorted.
func ListNamespaces(ctx context.Context, d Deps) ([]string, error) {
	kc, err := d.kubeClient()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, catalogTimeout)
	defer cancel()
	l, err := kc.Typed().CoreV1().Namespaces().List(ctx, metav1.ListOptions{Limit: catalogLimit})
	if err != nil {
		return nil, kube.Explain(err, kc.Server(), "namespaces")
	}
	out := make([]string, 0, len(l.Items))
	for _, n := range l.Items {
		out = append(out, n.Name)
	}
	slices.Sort(out)
	return out, nil
}

// ListRollouts returns the names of the Argo Rollouts in ns, sorted.
func ListRollouts(ctx context.Context, d Deps, ns string) ([]string, error) {
	kc, err := d.kubeClient()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, catalogTimeout)
	defer cancel()
	l, err := kc.Dynamic().Resource(kube.RolloutsGVR).Namespace(ns).List(ctx, metav1.ListOptions{Limit: catalogLimit})
	if err != nil {
		return nil, kube.Explain(err, kc.Server(), "rollouts in "+ns)
	}
	out := make([]string, 0, len(l.Items))
	for _, u := range l.Items {
		out = append(out, u.GetName())
	}
	slices.Sort(out)
	return out, nil
}

// ListWorkloads returns "kind/name" for the rollouts, deployments, statefulsets and daemonsets in ns,
// sorted. A kind the cluster cannot list (no Argo CRD, no RBAC) is left out; an error is returned only
// when nothing could be listed.
func ListWorkloads(ctx context.Context, d Deps, ns string) ([]string, error) {
	kc, err := d.kubeClient()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, catalogTimeout)
	defer cancel()
	var out []string
	var firstErr error
	add := func(kind string, names []string, err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
		for _, n := range names {
			out = append(out, kind+"/"+n)
		}
	}
	rollouts, err := ListRollouts(ctx, d, ns)
	add("rollout", rollouts, err)
	opts := metav1.ListOptions{Limit: catalogLimit}
	apps := kc.Typed().AppsV1()
	if l, err := apps.Deployments(ns).List(ctx, opts); err == nil {
		add("deployment", namesOf(len(l.Items), func(i int) string { return l.Items[i].Name }), nil)
	} else {
		add("", nil, kube.Explain(err, kc.Server(), "deployments in "+ns))
	}
	if l, err := apps.StatefulSets(ns).List(ctx, opts); err == nil {
		add("statefulset", namesOf(len(l.Items), func(i int) string { return l.Items[i].Name }), nil)
	}
	if l, err := apps.DaemonSets(ns).List(ctx, opts); err == nil {
		add("daemonset", namesOf(len(l.Items), func(i int) string { return l.Items[i].Name }), nil)
	}
	if len(out) == 0 && firstErr != nil {
		return nil, firstErr
	}
	slices.Sort(out)
	return out, nil
}

// NamespacesWith returns the namespaces holding a workload called name (any kind, or only kind when set):
// the candidates for "which namespace is shop in?".
func NamespacesWith(ctx context.Context, d Deps, kind, name string) ([]string, error) {
	nss, err := ListNamespaces(ctx, d)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, ns := range nss {
		if len(out) >= 20 || ctx.Err() != nil {
			break
		}
		ws, err := ListWorkloads(ctx, d, ns)
		if err != nil {
			continue
		}
		for _, w := range ws {
			k, n, _ := strings.Cut(w, "/")
			if n == name && (kind == "" || k == kind) {
				out = append(out, ns)
				break
			}
		}
	}
	return out, nil
}

func namesOf(n int, name func(int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = name(i)
	}
	return out
}

// WithPrefix keeps the values starting with prefix (case-insensitive), at most limit of them.
func WithPrefix(values []string, prefix string, limit int) []string {
	prefix = strings.ToLower(prefix)
	var out []string
	for _, v := range values {
		if strings.HasPrefix(strings.ToLower(v), prefix) {
			out = append(out, v)
			if len(out) == limit {
				break
			}
		}
	}
	return out
}
