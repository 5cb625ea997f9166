package tools

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/fixloop/fixloop/internal/kube"
)

type workloadKey struct{ kind, ns, name string }

const standalonePods = "(pods without controller)"

// GetArchitecture summarises what runs and how it is wired.
func GetArchitecture(ctx context.Context, d Deps, in GetArchitectureInput) (*GetArchitectureOutput, error) {
	kc, err := d.kubeClient()
	if err != nil {
		return nil, err
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 25
	}
	limit = min(limit, 200)
	offset := 0
	if in.Continue != "" {
		if offset, err = strconv.Atoi(in.Continue); err != nil || offset < 0 {
			return nil, fmt.Errorf("continue %q is not a value returned as next by this tool", in.Continue)
		}
	}
	sel, err := labels.Parse(in.LabelSelector)
	if err != nil {
		return nil, fmt.Errorf("labelSelector %q: %w", in.LabelSelector, err)
	}
	var detail *workloadKey
	if in.Workload != "" {
		kind, name, ok := strings.Cut(in.Workload, "/")
		if !ok || name == "" {
			return nil, fmt.Errorf("workload %q: want kind/name, e.g. rollout/web", in.Workload)
		}
		k := normKind(kind)
		if k == "" {
			return nil, fmt.Errorf("workload kind %q: want rollout, deployment, statefulset, daemonset, job or pod", kind)
		}
		detail = &workloadKey{k, in.Namespace, name}
	}

	a := &archBuilder{d: d, kc: kc, ns: in.Namespace, sel: in.LabelSelector, selector: sel,
		workloads: map[workloadKey]*WorkloadInfo{}, rsOwner: map[string]workloadKey{}, detail: detail,
		namespaces: map[string]bool{}, out: &GetArchitectureOutput{Namespace: in.Namespace}}
	if err := a.listWorkloads(ctx); err != nil {
		return nil, err
	}
	if err := a.listPods(ctx, offset, limit); err != nil {
		return nil, err
	}
	a.listRollupResources(ctx)
	a.listWarnings(ctx)
	return a.finish(offset, limit), nil
}

func normKind(k string) string {
	switch strings.ToLower(k) {
	case "rollout", "rollouts", "ro":
		return "Rollout"
	case "deployment", "deployments", "deploy":
		return "Deployment"
	case "statefulset", "statefulsets", "sts":
		return "StatefulSet"
	case "daemonset", "daemonsets", "ds":
		return "DaemonSet"
	case "job", "jobs":
		return "Job"
	case "pod", "pods", "po":
		return "Pod"
	}
	return ""
}

type archBuilder struct {
	d          Deps
	kc         kube.Client
	ns, sel    string
	selector   labels.Selector
	workloads  map[workloadKey]*WorkloadInfo
	rsOwner    map[string]workloadKey // ns/replicaset → owning workload
	rollouts   map[workloadKey]*RolloutInfo
	namespaces map[string]bool
	detail     *workloadKey
	unhealthy  []UnhealthyPod
	out        *GetArchitectureOutput
	now        time.Time
}

func (a *archBuilder) gap(what string, err error) {
	a.out.Gaps = append(a.out.Gaps, fmt.Sprintf("%s: %v", what, kube.Explain(err, a.kc.Server(), "list "+what)))
}

func (a *archBuilder) opts(cont string) metav1.ListOptions {
	return metav1.ListOptions{LabelSelector: a.sel, Limit: archPage, Continue: cont}
}

func (a *archBuilder) add(kind string, m metav1.ObjectMeta, desired, ready int32, spec corev1.PodSpec, tmpl map[string]string) *WorkloadInfo {
	w := &WorkloadInfo{Kind: kind, Namespace: m.Namespace, Name: m.Name, Desired: desired, Ready: ready, templateLb: tmpl}
	for _, c := range spec.Containers {
		w.Images = append(w.Images, c.Image)
		w.Resources = append(w.Resources, resourceString(c))
	}
	w.Images = slices.Compact(w.Images)
	a.workloads[workloadKey{kind, m.Namespace, m.Name}] = w
	a.namespaces[m.Namespace] = true
	return w
}

func resourceString(c corev1.Container) string {
	q := func(l corev1.ResourceList, n corev1.ResourceName) string {
		if v, ok := l[n]; ok {
			return v.String()
		}
		return "-"
	}
	return fmt.Sprintf("%s cpu=%s/%s mem=%s/%s", c.Name,
		q(c.Resources.Requests, corev1.ResourceCPU), q(c.Resources.Limits, corev1.ResourceCPU),
		q(c.Resources.Requests, corev1.ResourceMemory), q(c.Resources.Limits, corev1.ResourceMemory))
}

// listWorkloads adds every workload of the namespace. Only the Deployments list fails the call (it is the
// first, so it decides whether the cluster is usable at all); a kind that cannot be listed is a gap.
func (a *archBuilder) listWorkloads(ctx context.Context) error {
	if err := a.listDeployments(ctx); err != nil {
		return err
	}
	a.listStatefulSets(ctx)
	a.listDaemonSets(ctx)
	a.listReplicaSets(ctx)
	a.rollouts = map[workloadKey]*RolloutInfo{}
	a.listRollouts(ctx)
	if len(a.rollouts) > 0 {
		a.listAnalysisRuns(ctx)
	}
	return nil
}

func (a *archBuilder) listDeployments(ctx context.Context) error {
	apps := a.kc.Typed().AppsV1()
	for cont := ""; ; {
		l, err := apps.Deployments(a.ns).List(ctx, a.opts(cont))
		if err != nil {
			// The first call decides whether the cluster is usable at all.
			return kube.Explain(err, a.kc.Server(), fmt.Sprintf("list deployments in %q", a.ns))
		}
		for _, o := range l.Items {
			a.add("Deployment", o.ObjectMeta, ptrOr(o.Spec.Replicas, 1), o.Status.ReadyReplicas, o.Spec.Template.Spec, o.Spec.Template.Labels)
		}
		if cont = l.Continue; cont == "" {
			return nil
		}
	}
}

func (a *archBuilder) listStatefulSets(ctx context.Context) {
	apps := a.kc.Typed().AppsV1()
	for cont := ""; ; {
		l, err := apps.StatefulSets(a.ns).List(ctx, a.opts(cont))
		if err != nil {
			a.gap("statefulsets", err)
			break
		}
		for _, o := range l.Items {
			a.add("StatefulSet", o.ObjectMeta, ptrOr(o.Spec.Replicas, 1), o.Status.ReadyReplicas, o.Spec.Template.Spec, o.Spec.Template.Labels)
		}
		if cont = l.Continue; cont == "" {
			break
		}
	}
}

func (a *archBuilder) listDaemonSets(ctx context.Context) {
	apps := a.kc.Typed().AppsV1()
	for cont := ""; ; {
		l, err := apps.DaemonSets(a.ns).List(ctx, a.opts(cont))
		if err != nil {
			a.gap("daemonsets", err)
			break
		}
		for _, o := range l.Items {
			a.add("DaemonSet", o.ObjectMeta, o.Status.DesiredNumberScheduled, o.Status.NumberReady, o.Spec.Template.Spec, o.Spec.Template.Labels)
		}
		if cont = l.Continue; cont == "" {
			break
		}
	}
}

// listReplicaSets maps pods to their Deployment or Rollout; only owner references are kept.
func (a *archBuilder) listReplicaSets(ctx context.Context) {
	apps := a.kc.Typed().AppsV1()
	for cont := ""; ; {
		l, err := apps.ReplicaSets(a.ns).List(ctx, metav1.ListOptions{Limit: archPage, Continue: cont})
		if err != nil {
			a.gap("replicasets", err)
			break
		}
		for _, rs := range l.Items {
			if o := metav1.GetControllerOf(&rs); o != nil {
				a.rsOwner[rs.Namespace+"/"+rs.Name] = workloadKey{o.Kind, rs.Namespace, o.Name}
			} else {
				a.add("ReplicaSet", rs.ObjectMeta, ptrOr(rs.Spec.Replicas, 1), rs.Status.ReadyReplicas, rs.Spec.Template.Spec, rs.Spec.Template.Labels)
			}
		}
		if cont = l.Continue; cont == "" {
			break
		}
	}
}

func (a *archBuilder) listRollouts(ctx context.Context) {
	for cont := ""; ; {
		l, err := a.kc.Dynamic().Resource(kube.RolloutsGVR).Namespace(a.ns).List(ctx, a.opts(cont))
		if err != nil {
			if !kube.IsKind(kube.Explain(err, "", ""), kube.KindNotFound) {
				a.gap("rollouts.argoproj.io", err)
			}
			break
		}
		for i := range l.Items {
			a.addRollout(&l.Items[i])
		}
		if cont = l.GetContinue(); cont == "" {
			break
		}
	}
}

// addRollout adds an Argo Rollout read as unstructured (its pod template's containers and labels).
func (a *archBuilder) addRollout(u *unstructured.Unstructured) {
	r := kube.ParseRollout(u)
	var spec corev1.PodSpec
	tmpl, _, _ := unstructured.NestedMap(u.Object, "spec", "template")
	if cs, ok, _ := unstructured.NestedSlice(tmpl, "spec", "containers"); ok {
		for _, c := range cs {
			spec.Containers = append(spec.Containers, containerFromMap(c))
		}
	}
	tl, _, _ := unstructured.NestedStringMap(tmpl, "metadata", "labels")
	desired, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
	if _, ok, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "replicas"); !ok {
		desired = 1
	}
	m := metav1.ObjectMeta{Namespace: u.GetNamespace(), Name: u.GetName()}
	w := a.add("Rollout", m, int32(desired), int32(r.ReadyReplicas), spec, tl)
	ri := &RolloutInfo{Rollout: *r}
	w.Rollout = ri
	a.rollouts[workloadKey{"Rollout", m.Namespace, m.Name}] = ri
}

func containerFromMap(c any) corev1.Container {
	m, _ := c.(map[string]any)
	var out corev1.Container
	out.Name, _ = m["name"].(string)
	out.Image, _ = m["image"].(string)
	// Only the resources matter for the summary; a malformed container keeps name and image.
	var full corev1.Container
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &full); err == nil {
		return full
	}
	return out
}

func (a *archBuilder) listAnalysisRuns(ctx context.Context) {
	l, err := a.kc.Dynamic().Resource(kube.AnalysisRunsGVR).Namespace(a.ns).List(ctx, metav1.ListOptions{Limit: archPage})
	if err != nil {
		a.gap("analysisruns.argoproj.io", err)
		return
	}
	sort.Slice(l.Items, func(i, j int) bool {
		return l.Items[j].GetCreationTimestamp().Time.Before(l.Items[i].GetCreationTimestamp().Time)
	})
	for _, u := range l.Items {
		for _, o := range u.GetOwnerReferences() {
			if o.Kind != "Rollout" {
				continue
			}
			ri := a.rollouts[workloadKey{"Rollout", u.GetNamespace(), o.Name}]
			if ri == nil || len(ri.AnalysisRuns) >= 3 {
				continue
			}
			info := AnalysisRun{Name: u.GetName()}
			if run, err := kube.ParseAnalysisRun(&u); err != nil {
				info.Message = err.Error()
			} else {
				info.Phase, info.Message = string(run.Status.Phase), run.Status.Message
			}
			ri.AnalysisRuns = append(ri.AnalysisRuns, info)
		}
	}
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// owner finds the workload a pod belongs to, and for Rollout pods its role by pod-template hash.
func (a *archBuilder) owner(p *corev1.Pod) (workloadKey, string) {
	o := metav1.GetControllerOf(p)
	if o == nil {
		// Bare pods are grouped by app label per namespace so thousands of them stay a few lines.
		for _, l := range []string{"app.kubernetes.io/name", "app"} {
			if v := p.Labels[l]; v != "" {
				return workloadKey{"Pod", p.Namespace, standalonePods + " " + l + "=" + v}, ""
			}
		}
		return workloadKey{"Pod", p.Namespace, standalonePods}, ""
	}
	switch o.Kind {
	case "ReplicaSet":
		if k, ok := a.rsOwner[p.Namespace+"/"+o.Name]; ok {
			role := ""
			if ri := a.rollouts[k]; ri != nil {
				h := p.Labels["rollouts-pod-template-hash"]
				switch {
				case h != "" && h == ri.StableHash:
					role = "stable"
				case h != "" && h == ri.CanaryHash:
					role = "canary"
				}
			}
			return k, role
		}
		return workloadKey{"ReplicaSet", p.Namespace, o.Name}, ""
	case "Job":
		return workloadKey{"Job", p.Namespace, o.Name}, ""
	}
	return workloadKey{o.Kind, p.Namespace, o.Name}, ""
}

func (a *archBuilder) finish(offset, limit int) *GetArchitectureOutput {
	out := a.out
	out.Totals.Namespaces = len(a.namespaces)
	var list []*WorkloadInfo
	for k, w := range a.workloads {
		if k.kind == "Job" && w.Pods.Total == 0 && len(w.Unhealthy) == 0 {
			continue
		}
		w.Healthy = len(w.Unhealthy) == 0 && w.Pods.Ready >= int(w.Desired) && (w.Rollout == nil || (!w.Rollout.Aborted && w.Rollout.Phase != "Degraded"))
		if w.Kind == "Job" {
			w.Healthy = len(w.Unhealthy) == 0
		}
		if a.detail != nil {
			if k.kind != a.detail.kind || k.name != a.detail.name || (a.detail.ns != "" && k.ns != a.detail.ns) {
				continue
			}
		} else if a.sel != "" && w.templateLb != nil && !a.selector.Matches(labels.Set(w.templateLb)) {
			continue
		}
		list = append(list, w)
	}
	out.Totals.Workloads = len(list)
	sort.Slice(list, func(i, j int) bool {
		if list[i].Healthy != list[j].Healthy {
			return !list[i].Healthy
		}
		if list[i].Namespace != list[j].Namespace {
			return list[i].Namespace < list[j].Namespace
		}
		if list[i].Kind != list[j].Kind {
			return list[i].Kind < list[j].Kind
		}
		return list[i].Name < list[j].Name
	})
	if a.detail != nil {
		if len(list) == 0 && len(out.Pods) == 0 {
			out.Hint = fmt.Sprintf("no %s named %q found in namespace %q; call get_architecture without workload to list them", a.detail.kind, a.detail.name, a.ns)
		}
		for _, w := range list {
			out.Workloads = append(out.Workloads, *w)
		}
	} else {
		end := min(offset+limit, len(list))
		for _, w := range list[min(offset, len(list)):end] {
			out.Workloads = append(out.Workloads, *w)
		}
		if end < len(list) {
			out.Next = strconv.Itoa(end)
			out.Hint = fmt.Sprintf("showing workloads %d-%d of %d (unhealthy first); pass continue=%q for more, or workload=kind/name for one workload's pods", offset+1, end, len(list), out.Next)
		}
	}
	sort.Slice(a.unhealthy, func(i, j int) bool {
		if a.unhealthy[i].severity != a.unhealthy[j].severity {
			return a.unhealthy[i].severity > a.unhealthy[j].severity
		}
		return a.unhealthy[i].Pod < a.unhealthy[j].Pod
	})
	out.Unhealthy = a.unhealthy
	if out.Workloads == nil {
		out.Workloads = []WorkloadInfo{}
	}
	return out
}

func init() {
	Add(Spec{
		Name:  "get_architecture",
		Title: "Cluster architecture",
		Description: "Summarise what runs in a namespace (or the whole cluster) and how it is wired: Deployments, StatefulSets, DaemonSets, " +
			"Argo Rollouts (strategy, current step, canary weight, stable/canary pod-template hashes and pod counts, phase, paused/aborted, analysis runs), " +
			"Services and the workloads their selectors reach, Ingress routes, HPAs, PVCs, CronJobs/Jobs; per workload images, desired/ready replicas, " +
			"requests/limits and pod health (restarts, OOMKilled, CrashLoopBackOff, pending reasons), plus recent Warning events. " +
			"The answer stays compact on big clusters: counts plus the unhealthy pods by name, workloads paginated (unhealthy first, use continue). " +
			"Pass workload=kind/name (e.g. rollout/web) for one workload with its pods (paginated) and events. Start here before get_logs or get_metrics.",
		Toolset:    ToolsetCluster,
		Idempotent: true,
		Timeout:    2 * time.Minute,
		InputProps: map[string]map[string]any{
			"limit": {"minimum": 1, "maximum": 200, "default": 25},
		},
	}, GetArchitecture)
}
