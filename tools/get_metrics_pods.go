package tools

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/prom"
)

// metricsSide resolves the pods to measure (exact names from the cluster when possible, else a name
// pattern) and the Services and Ingresses that route to them alone, so proxies' series can be found too.
func metricsSide(ctx context.Context, d Deps, in GetMetricsInput) (prom.Side, int, TrafficSplit, []string, error) {
	side := prom.Side{Namespace: in.Namespace}
	kc := d.Kube
	if kc == nil {
		name := in.Rollout
		if name == "" {
			_, name, _ = cutKind(in.Workload)
		}
		if in.Role != "" {
			return side, 0, TrafficSplit{}, nil, fmt.Errorf("role needs the cluster to find the %s pods: %w", in.Role, kube.ErrNoCluster)
		}
		side.PodPattern = regexp.QuoteMeta(name) + "-.+"
		return side, 0, TrafficSplit{}, []string{"no cluster configured: pods matched by name prefix only"}, nil
	}
	selector, split, err := podSelectorOf(ctx, kc, in)
	if err != nil {
		return side, 0, split, nil, err
	}
	podLabels := map[string]labels.Set{} // one per revision, for the Services selecting any of them
	err = kube.ListPods(ctx, kc, in.Namespace, selector, 500, func(ps []corev1.Pod) bool {
		for _, p := range ps {
			side.Pods = append(side.Pods, p.Name)
			podLabels[labels.Set(p.Labels).String()] = p.Labels
		}
		return len(side.Pods) <= 2000
	})
	if err != nil {
		return side, 0, split, nil, err
	}
	if len(side.Pods) == 0 {
		return side, 0, split, nil, fmt.Errorf("no pods match %q in namespace %s: nothing to measure", selector, in.Namespace)
	}
	sort.Strings(side.Pods)
	side.Services, side.Ingresses = routesOf(split, in.Role)
	if len(side.Services) == 0 && in.Role == "" {
		side.Services = servicesSelecting(ctx, kc, in.Namespace, podLabels)
	}
	return side, len(side.Pods), split, nil, nil
}

// podSelectorOf is the label selector of the pods measured: the workload's, or the rollout's (one
// revision's with role) along with its traffic split.
func podSelectorOf(ctx context.Context, kc kube.Client, in GetMetricsInput) (string, TrafficSplit, error) {
	if in.Rollout == "" {
		sel, err := WorkloadSelector(ctx, kc, in.Namespace, in.Workload)
		return sel, TrafficSplit{}, err
	}
	ro, err := kc.GetRollout(ctx, in.Namespace, in.Rollout)
	if err != nil {
		return "", TrafficSplit{}, err
	}
	split, err := rolloutSplit(ro)
	if err != nil {
		return "", split, err
	}
	switch in.Role {
	case "stable":
		return ro.PodSelector(ro.StableHash), split, nil
	case "canary":
		if !ro.CanaryInFlight() {
			return "", split, fmt.Errorf("rollout %s/%s has no canary: its current revision %s is the stable one", in.Namespace, in.Rollout, ro.CurrentHash)
		}
		return ro.PodSelector(ro.CanaryHash), split, nil
	}
	return ro.Selector, split, nil
}

// routesOf gives the Services and Ingresses of a rollout's split that carry one role's requests (both
// roles' without one).
func routesOf(split TrafficSplit, role string) (services, ingresses []string) {
	for i, r := range []string{"stable", "canary"} {
		if role != "" && role != r {
			continue
		}
		if split.Services[i] != "" {
			services = append(services, split.Services[i])
		}
		ingresses = append(ingresses, split.Ingresses[i]...)
	}
	return services, ingresses
}

// servicesSelecting lists the Services whose selector matches some of the pods (a proxy in front of a
// workload labels its series with them). A failure to list leaves the proxies' sources unlooked-for.
func servicesSelecting(ctx context.Context, kc kube.Client, ns string, podLabels map[string]labels.Set) []string {
	svcs, err := kc.Typed().CoreV1().Services(ns).List(ctx, metav1.ListOptions{Limit: 500})
	if err != nil {
		return nil
	}
	var out []string
	for _, svc := range svcs.Items {
		if len(svc.Spec.Selector) == 0 {
			continue
		}
		sel := labels.SelectorFromSet(svc.Spec.Selector)
		for _, l := range podLabels {
			if sel.Matches(l) {
				out = append(out, svc.Name)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

func cutKind(w string) (kind, name string, ok bool) {
	if k, n, found := strings.Cut(w, "/"); found {
		return normKind(k), n, true
	}
	return "", w, false
}

// WorkloadSelector finds the pod selector of a workload given as name or kind/name (rollout, deployment,
// statefulset or daemonset).
func WorkloadSelector(ctx context.Context, kc kube.Client, ns, w string) (string, error) {
	kind, name, explicit := cutKind(w)
	if explicit && kind == "" {
		return "", fmt.Errorf("workload %q: kind must be rollout, deployment, statefulset or daemonset", w)
	}
	apps := kc.Typed().AppsV1()
	try := []string{"Rollout", "Deployment", "StatefulSet", "DaemonSet"}
	if explicit {
		try = []string{kind}
	}
	for _, k := range try {
		var ls *metav1.LabelSelector
		var err error
		switch k {
		case "Rollout":
			var ro *kube.Rollout
			if ro, err = kc.GetRollout(ctx, ns, name); err == nil {
				return ro.Selector, nil
			}
			if !kube.IsKind(err, kube.KindNotFound) {
				return "", err
			}
			continue
		case "Deployment":
			dep, e := apps.Deployments(ns).Get(ctx, name, metav1.GetOptions{})
			if err = e; err == nil {
				ls = dep.Spec.Selector
			}
		case "StatefulSet":
			sts, e := apps.StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
			if err = e; err == nil {
				ls = sts.Spec.Selector
			}
		case "DaemonSet":
			ds, e := apps.DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
			if err = e; err == nil {
				ls = ds.Spec.Selector
			}
		default:
			return "", fmt.Errorf("workload kind %s has no metrics selector; use rollout, deployment, statefulset or daemonset", k)
		}
		if err == nil && ls != nil {
			s, err := metav1.LabelSelectorAsSelector(ls)
			if err != nil {
				return "", err
			}
			return s.String(), nil
		}
		err = kube.Explain(err, kc.Server(), fmt.Sprintf("%s %s/%s", strings.ToLower(k), ns, name))
		if !kube.IsKind(err, kube.KindNotFound) {
			return "", err
		}
	}
	return "", fmt.Errorf("no workload named %q in namespace %s (looked for %s); call get_architecture to list them", name, ns, strings.Join(try, ", "))
}
