package monitor

import (
	"context"
	"fmt"
	"slices"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/fixloop/fixloop/internal/kube"
)

// Selection says which workloads the monitor watches. A workload annotated fixloop.dev/monitor: "true"
// is always watched and one annotated "false" never; the others are watched when Namespaces or
// LabelSelector is set and they match both. With neither set, only opted-in workloads are watched: a
// monitor that files issues must not adopt a whole cluster by default.
type Selection struct {
	Namespaces    []string // empty: all namespaces
	LabelSelector string
	Thresholds    Thresholds // defaults before annotations
}

// KubeLister lists Rollouts, Deployments and StatefulSets through the cluster client.
type KubeLister struct {
	Kube kube.Client
	Sel  Selection
}

type meta struct {
	kind, ns, name string
	labels, ann    map[string]string
}

// Targets implements Lister.
func (l KubeLister) Targets(ctx context.Context) ([]Target, error) {
	if l.Kube == nil {
		return nil, kube.ErrNoCluster
	}
	if _, err := labels.Parse(l.Sel.LabelSelector); err != nil {
		return nil, fmt.Errorf("monitor label selector %q: %w", l.Sel.LabelSelector, err)
	}
	nss := l.Sel.Namespaces
	if len(nss) == 0 {
		nss = []string{metav1.NamespaceAll}
	}
	var all []meta
	for _, ns := range nss {
		ms, err := l.list(ctx, ns)
		if err != nil {
			return nil, err
		}
		all = append(all, ms...)
	}
	out := []Target{}
	for _, m := range all {
		if !l.selected(m) {
			continue
		}
		t := Target{Namespace: m.ns, Kind: m.kind, Name: m.name, Thresholds: l.Sel.Thresholds}
		if v, ok := m.ann[AnnotationThresholds]; ok {
			th, err := ParseThresholds(l.Sel.Thresholds, v)
			if err != nil {
				t.Notes = append(t.Notes, err.Error()+" (defaults used)")
			} else {
				t.Thresholds = th
			}
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return targetKey(out[i]) < targetKey(out[j]) })
	return out, nil
}

func (l KubeLister) selected(m meta) bool {
	switch m.ann[AnnotationMonitor] {
	case "true":
		return true
	case "false":
		return false
	}
	if len(l.Sel.Namespaces) == 0 && l.Sel.LabelSelector == "" {
		return false
	}
	if len(l.Sel.Namespaces) > 0 && !slices.Contains(l.Sel.Namespaces, m.ns) {
		return false
	}
	if l.Sel.LabelSelector == "" {
		return true
	}
	sel, err := labels.Parse(l.Sel.LabelSelector)
	return err == nil && sel.Matches(labels.Set(m.labels))
}

// list reads the workloads of one namespace (all when ns is empty). Selection is done client-side so an
// opted-in workload outside the label selector is still found.
func (l KubeLister) list(ctx context.Context, ns string) ([]meta, error) {
	var out []meta
	opts := metav1.ListOptions{}
	deps, err := l.Kube.Typed().AppsV1().Deployments(ns).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list deployments in %q: %w", ns, err)
	}
	for _, d := range deps.Items {
		out = append(out, meta{"deployment", d.Namespace, d.Name, d.Labels, d.Annotations})
	}
	sts, err := l.Kube.Typed().AppsV1().StatefulSets(ns).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list statefulsets in %q: %w", ns, err)
	}
	for _, s := range sts.Items {
		out = append(out, meta{"statefulset", s.Namespace, s.Name, s.Labels, s.Annotations})
	}
	ros, err := l.Kube.Dynamic().Resource(kube.RolloutsGVR).Namespace(ns).List(ctx, opts)
	switch {
	case apierrors.IsNotFound(err): // Argo Rollouts not installed: the other kinds still count
	case err != nil:
		return nil, fmt.Errorf("list rollouts in %q: %w", ns, err)
	default:
		for _, r := range ros.Items {
			out = append(out, meta{"rollout", r.GetNamespace(), r.GetName(), r.GetLabels(), r.GetAnnotations()})
		}
	}
	return out, nil
}
