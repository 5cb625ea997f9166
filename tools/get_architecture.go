package tools

import (
	"context"
	"fmt"
	"maps"
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

// GetArchitectureInput selects what to describe.
type GetArchitectureInput struct {
	Namespace     string `json:"namespace,omitempty" jsonschema:"namespace to describe; empty means all namespaces"`
	LabelSelector string `json:"labelSelector,omitempty" jsonschema:"Kubernetes label selector applied to pods and workloads, e.g. app=shop"`
	Workload      string `json:"workload,omitempty" jsonschema:"kind/name of one workload to describe in detail with its pods and events, e.g. rollout/web or deployment/api (kinds: rollout deployment statefulset daemonset job pod)"`
	Limit         int    `json:"limit,omitempty" jsonschema:"workloads (or pods in workload detail) per page, default 25, max 200"`
	Continue      string `json:"continue,omitempty" jsonschema:"the next value of a previous answer, to get the next page"`
}

// GetArchitectureOutput is a compact summary: totals, workloads (unhealthy first, paginated), how they
// are wired, and recent warnings.
type GetArchitectureOutput struct {
	Namespace string         `json:"namespace,omitempty" jsonschema:"namespace described (empty: all)"`
	Totals    ArchTotals     `json:"totals" jsonschema:"counts over everything matched, before pagination"`
	Workloads []WorkloadInfo `json:"workloads" jsonschema:"this page of workloads, unhealthy first"`
	Services  []ServiceInfo  `json:"services,omitempty" jsonschema:"services with the workloads their selector reaches"`
	Ingresses []IngressInfo  `json:"ingresses,omitempty"`
	Storage   *StorageInfo   `json:"storage,omitempty" jsonschema:"PersistentVolumeClaims: counts and the ones not Bound"`
	CronJobs  []CronJobInfo  `json:"cronJobs,omitempty"`
	Warnings  []WarningEvent `json:"warnings,omitempty" jsonschema:"recent Warning events, grouped"`
	Unhealthy []UnhealthyPod `json:"unhealthy,omitempty" jsonschema:"unhealthy pods across the scope, worst first (capped)"`
	Pods      []PodInfo      `json:"pods,omitempty" jsonschema:"workload detail only: this page of the workload's pods"`
	Gaps      []string       `json:"gaps,omitempty" jsonschema:"resource types that could not be read (RBAC, missing CRDs), so the picture may be incomplete"`
	Next      string         `json:"next,omitempty" jsonschema:"pass as continue to get the next page"`
	Hint      string         `json:"hint,omitempty"`
}

type ArchTotals struct {
	Namespaces    int `json:"namespaces"`
	Workloads     int `json:"workloads"`
	Pods          int `json:"pods"`
	PodsReady     int `json:"podsReady"`
	PodsUnhealthy int `json:"podsUnhealthy"`
	Services      int `json:"services"`
	Ingresses     int `json:"ingresses"`
	HPAs          int `json:"hpas"`
	PVCs          int `json:"pvcs"`
	CronJobs      int `json:"cronJobs"`
	Jobs          int `json:"jobs"`
	JobsFailed    int `json:"jobsFailed"`
}

type WorkloadInfo struct {
	Kind       string         `json:"kind"`
	Namespace  string         `json:"namespace"`
	Name       string         `json:"name"`
	Desired    int32          `json:"desired" jsonschema:"desired replicas"`
	Ready      int32          `json:"ready" jsonschema:"ready replicas as reported by the workload"`
	Images     []string       `json:"images"`
	Resources  []string       `json:"resources,omitempty" jsonschema:"per container: requests/limits, e.g. app cpu=100m/500m mem=64Mi/128Mi"`
	Pods       PodCounts      `json:"pods"`
	Rollout    *RolloutInfo   `json:"rollout,omitempty"`
	HPA        string         `json:"hpa,omitempty" jsonschema:"autoscaler: min-max replicas, current/desired"`
	Services   []string       `json:"services,omitempty"`
	Unhealthy  []UnhealthyPod `json:"unhealthy,omitempty" jsonschema:"a few unhealthy pods of this workload"`
	Healthy    bool           `json:"healthy"`
	templateLb map[string]string
}

type PodCounts struct {
	Total        int `json:"total"`
	Running      int `json:"running"`
	Ready        int `json:"ready"`
	Pending      int `json:"pending"`
	Failed       int `json:"failed"`
	Restarts     int `json:"restarts"`
	OOMKilled    int `json:"oomKilled"`
	CrashLooping int `json:"crashLooping"`
}

type RolloutInfo struct {
	kube.Rollout
	StablePods   int           `json:"stablePods"`
	CanaryPods   int           `json:"canaryPods"`
	CanaryReady  int           `json:"canaryReady"`
	AnalysisRuns []AnalysisRun `json:"analysisRuns,omitempty"`
}

type AnalysisRun struct {
	Name    string `json:"name"`
	Phase   string `json:"phase"`
	Message string `json:"message,omitempty"`
}

type UnhealthyPod struct {
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	Reason    string `json:"reason"`
	Restarts  int    `json:"restarts,omitempty"`
	severity  int
}

type PodInfo struct {
	Name     string `json:"name"`
	Phase    string `json:"phase"`
	Ready    bool   `json:"ready"`
	Restarts int    `json:"restarts"`
	Role     string `json:"role,omitempty" jsonschema:"stable or canary for Argo Rollout pods"`
	Hash     string `json:"hash,omitempty" jsonschema:"pod-template hash"`
	Node     string `json:"node,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Age      string `json:"age"`
}

type ServiceInfo struct {
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	Type      string   `json:"type"`
	Selector  string   `json:"selector,omitempty"`
	Ports     []string `json:"ports,omitempty"`
	Targets   []string `json:"targets" jsonschema:"workloads (kind/name) whose pods the selector matches"`
}

type IngressInfo struct {
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	Routes    []string `json:"routes" jsonschema:"host/path -> service:port"`
}

type StorageInfo struct {
	Bound    int      `json:"bound"`
	NotBound []string `json:"notBound,omitempty" jsonschema:"namespace/name (phase)"`
}

type CronJobInfo struct {
	Namespace    string `json:"namespace"`
	Name         string `json:"name"`
	Schedule     string `json:"schedule"`
	Suspended    bool   `json:"suspended,omitempty"`
	Active       int    `json:"active"`
	LastSchedule string `json:"lastSchedule,omitempty"`
}

type WarningEvent struct {
	Object  string `json:"object" jsonschema:"kind/namespace/name"`
	Reason  string `json:"reason"`
	Count   int32  `json:"count"`
	Message string `json:"message"`
	Last    string `json:"last" jsonschema:"how long ago, e.g. 3m"`
}

const (
	archPage         = 500 // List page size: bounds memory on big clusters
	maxUnhealthyAll  = 15
	maxUnhealthyEach = 3
	maxWarnings      = 12
	maxListed        = 20 // services, ingresses, cronjobs listed in the summary
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

func (a *archBuilder) listWorkloads(ctx context.Context) error {
	apps := a.kc.Typed().AppsV1()
	cont := ""
	for {
		l, err := apps.Deployments(a.ns).List(ctx, a.opts(cont))
		if err != nil {
			// The first call decides whether the cluster is usable at all.
			return kube.Explain(err, a.kc.Server(), fmt.Sprintf("list deployments in %q", a.ns))
		}
		for _, o := range l.Items {
			a.add("Deployment", o.ObjectMeta, ptrOr(o.Spec.Replicas, 1), o.Status.ReadyReplicas, o.Spec.Template.Spec, o.Spec.Template.Labels)
		}
		if cont = l.Continue; cont == "" {
			break
		}
	}
	for cont = ""; ; {
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
	for cont = ""; ; {
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
	// ReplicaSets map pods to their Deployment or Rollout; only owner references are kept.
	for cont = ""; ; {
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
	a.rollouts = map[workloadKey]*RolloutInfo{}
	for cont = ""; ; {
		l, err := a.kc.Dynamic().Resource(kube.RolloutsGVR).Namespace(a.ns).List(ctx, a.opts(cont))
		if err != nil {
			if !kube.IsKind(kube.Explain(err, "", ""), kube.KindNotFound) {
				a.gap("rollouts.argoproj.io", err)
			}
			break
		}
		for i := range l.Items {
			u := &l.Items[i]
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
		if cont = l.GetContinue(); cont == "" {
			break
		}
	}
	if len(a.rollouts) > 0 {
		a.listAnalysisRuns(ctx)
	}
	return nil
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
			phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
			msg, _, _ := unstructured.NestedString(u.Object, "status", "message")
			ri.AnalysisRuns = append(ri.AnalysisRuns, AnalysisRun{Name: u.GetName(), Phase: phase, Message: msg})
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

// podHealth classifies a pod: reason is empty when healthy; severity orders the worst first.
func podHealth(p *corev1.Pod) (reason string, severity int, restarts int, ready, oom, crash bool) {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	for _, cs := range append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...) {
		restarts += int(cs.RestartCount)
		if t := cs.LastTerminationState.Terminated; t != nil && t.Reason == "OOMKilled" {
			oom = true
		}
		if t := cs.State.Terminated; t != nil && t.Reason == "OOMKilled" {
			oom = true
		}
		if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" && w.Reason != "PodInitializing" {
			if w.Reason == "CrashLoopBackOff" {
				crash = true
			}
			reason, severity = w.Reason, 3
		}
	}
	switch p.Status.Phase {
	case corev1.PodSucceeded:
		return "", 0, restarts, ready, oom, crash
	case corev1.PodFailed:
		r := p.Status.Reason
		if r == "" {
			r = "Failed"
		}
		return r, 4, restarts, ready, oom, crash
	case corev1.PodPending:
		if reason == "" {
			reason, severity = "Pending", 2
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
					reason = "Pending: " + c.Reason
				}
			}
		}
	}
	if oom && reason == "" {
		reason, severity = "OOMKilled (last restart)", 3
	}
	if reason == "" && p.Status.Phase == corev1.PodRunning && !ready && p.DeletionTimestamp == nil {
		reason, severity = "NotReady", 1
	}
	return reason, severity, restarts, ready, oom, crash
}

func (a *archBuilder) listPods(ctx context.Context, offset, limit int) error {
	a.now = time.Now()
	detailPods := 0
	err := kube.ListPods(ctx, a.kc, a.ns, a.sel, archPage, func(pods []corev1.Pod) bool {
		for i := range pods {
			p := &pods[i]
			a.out.Totals.Pods++
			a.namespaces[p.Namespace] = true
			key, role := a.owner(p)
			w := a.workloads[key]
			if w == nil {
				w = &WorkloadInfo{Kind: key.kind, Namespace: key.ns, Name: key.name, Images: podImages(p)}
				a.workloads[key] = w
			}
			reason, sev, restarts, ready, oom, crash := podHealth(p)
			if key.kind == "Pod" {
				w.Desired++
				w.Ready += b2i(ready)
			}
			pc := &w.Pods
			pc.Total++
			pc.Restarts += restarts
			switch p.Status.Phase {
			case corev1.PodRunning:
				pc.Running++
			case corev1.PodPending:
				pc.Pending++
			case corev1.PodFailed:
				pc.Failed++
			}
			if ready {
				pc.Ready++
				a.out.Totals.PodsReady++
			}
			if oom {
				pc.OOMKilled++
			}
			if crash {
				pc.CrashLooping++
			}
			if w.Rollout != nil {
				switch role {
				case "stable":
					w.Rollout.StablePods++
				case "canary":
					w.Rollout.CanaryPods++
					if ready {
						w.Rollout.CanaryReady++
					}
				}
			}
			if reason != "" {
				a.out.Totals.PodsUnhealthy++
				u := UnhealthyPod{Namespace: p.Namespace, Pod: p.Name, Reason: reason, Restarts: restarts, severity: sev}
				if len(w.Unhealthy) < maxUnhealthyEach {
					w.Unhealthy = append(w.Unhealthy, u)
				}
				a.unhealthy = keepWorst(a.unhealthy, u, maxUnhealthyAll)
			}
			name := key.name
			if key.kind == "Pod" {
				name = p.Name
			}
			if a.detail != nil && key.kind == a.detail.kind && name == a.detail.name && (a.detail.ns == "" || a.detail.ns == key.ns) {
				if detailPods >= offset && detailPods < offset+limit {
					a.out.Pods = append(a.out.Pods, PodInfo{Name: p.Name, Phase: string(p.Status.Phase), Ready: ready, Restarts: restarts,
						Role: role, Hash: p.Labels["rollouts-pod-template-hash"], Node: p.Spec.NodeName, Reason: reason, Age: age(a.now, p.CreationTimestamp.Time)})
				}
				detailPods++
			}
		}
		return true
	})
	if a.detail != nil && detailPods > offset+limit {
		a.out.Next = strconv.Itoa(offset + limit)
	}
	return err
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

func podImages(p *corev1.Pod) []string {
	var out []string
	for _, c := range p.Spec.Containers {
		out = append(out, c.Image)
	}
	return out
}

func keepWorst(list []UnhealthyPod, u UnhealthyPod, n int) []UnhealthyPod {
	if len(list) < n {
		return append(list, u)
	}
	worst := 0 // index of the least severe kept entry
	for i := range list {
		if list[i].severity < list[worst].severity || (list[i].severity == list[worst].severity && list[i].Restarts < list[worst].Restarts) {
			worst = i
		}
	}
	if u.severity > list[worst].severity || (u.severity == list[worst].severity && u.Restarts > list[worst].Restarts) {
		list[worst] = u
	}
	return list
}

func age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func (a *archBuilder) listRollupResources(ctx context.Context) {
	core := a.kc.Typed().CoreV1()
	// Services: which workloads each selector reaches.
	for cont := ""; ; {
		l, err := core.Services(a.ns).List(ctx, a.opts(cont))
		if err != nil {
			a.gap("services", err)
			break
		}
		for _, s := range l.Items {
			a.out.Totals.Services++
			a.namespaces[s.Namespace] = true
			si := ServiceInfo{Namespace: s.Namespace, Name: s.Name, Type: string(s.Spec.Type), Targets: []string{}}
			if len(s.Spec.Selector) > 0 {
				si.Selector = labels.SelectorFromSet(s.Spec.Selector).String()
				sel := labels.SelectorFromSet(s.Spec.Selector)
				for k, w := range a.workloads {
					if k.ns == s.Namespace && w.templateLb != nil && sel.Matches(labels.Set(w.templateLb)) {
						si.Targets = append(si.Targets, w.Kind+"/"+w.Name)
						w.Services = append(w.Services, s.Name)
					}
				}
				sort.Strings(si.Targets)
			}
			for _, p := range s.Spec.Ports {
				si.Ports = append(si.Ports, fmt.Sprintf("%d->%s/%s", p.Port, p.TargetPort.String(), p.Protocol))
			}
			if len(a.out.Services) < maxListed {
				a.out.Services = append(a.out.Services, si)
			}
		}
		if cont = l.Continue; cont == "" {
			break
		}
	}
	if l, err := a.kc.Typed().NetworkingV1().Ingresses(a.ns).List(ctx, a.opts("")); err != nil {
		a.gap("ingresses", err)
	} else {
		for _, ing := range l.Items {
			a.out.Totals.Ingresses++
			ii := IngressInfo{Namespace: ing.Namespace, Name: ing.Name}
			for _, r := range ing.Spec.Rules {
				if r.HTTP == nil {
					continue
				}
				for _, p := range r.HTTP.Paths {
					if p.Backend.Service != nil {
						port := p.Backend.Service.Port.Name
						if port == "" {
							port = strconv.Itoa(int(p.Backend.Service.Port.Number))
						}
						ii.Routes = append(ii.Routes, fmt.Sprintf("%s%s -> %s:%s", r.Host, p.Path, p.Backend.Service.Name, port))
					}
				}
			}
			if len(a.out.Ingresses) < maxListed {
				a.out.Ingresses = append(a.out.Ingresses, ii)
			}
		}
	}
	if l, err := a.kc.Typed().AutoscalingV2().HorizontalPodAutoscalers(a.ns).List(ctx, a.opts("")); err != nil {
		a.gap("horizontalpodautoscalers", err)
	} else {
		for _, h := range l.Items {
			a.out.Totals.HPAs++
			if w := a.workloads[workloadKey{h.Spec.ScaleTargetRef.Kind, h.Namespace, h.Spec.ScaleTargetRef.Name}]; w != nil {
				w.HPA = fmt.Sprintf("%s: %d-%d replicas, current %d, desired %d", h.Name, ptrOr(h.Spec.MinReplicas, 1), h.Spec.MaxReplicas, h.Status.CurrentReplicas, h.Status.DesiredReplicas)
			}
		}
	}
	pvcs := &StorageInfo{}
	if l, err := core.PersistentVolumeClaims(a.ns).List(ctx, a.opts("")); err != nil {
		a.gap("persistentvolumeclaims", err)
	} else {
		for _, c := range l.Items {
			a.out.Totals.PVCs++
			if c.Status.Phase == corev1.ClaimBound {
				pvcs.Bound++
			} else if len(pvcs.NotBound) < maxListed {
				pvcs.NotBound = append(pvcs.NotBound, fmt.Sprintf("%s/%s (%s)", c.Namespace, c.Name, c.Status.Phase))
			}
		}
	}
	if a.out.Totals.PVCs > 0 {
		a.out.Storage = pvcs
	}
	batch := a.kc.Typed().BatchV1()
	if l, err := batch.CronJobs(a.ns).List(ctx, a.opts("")); err != nil {
		a.gap("cronjobs", err)
	} else {
		for _, cj := range l.Items {
			a.out.Totals.CronJobs++
			ci := CronJobInfo{Namespace: cj.Namespace, Name: cj.Name, Schedule: cj.Spec.Schedule, Suspended: ptrOr(cj.Spec.Suspend, false), Active: len(cj.Status.Active)}
			if cj.Status.LastScheduleTime != nil {
				ci.LastSchedule = age(a.now, cj.Status.LastScheduleTime.Time) + " ago"
			}
			if len(a.out.CronJobs) < maxListed {
				a.out.CronJobs = append(a.out.CronJobs, ci)
			}
		}
	}
	for cont := ""; ; {
		l, err := batch.Jobs(a.ns).List(ctx, a.opts(cont))
		if err != nil {
			a.gap("jobs", err)
			break
		}
		for _, j := range l.Items {
			a.out.Totals.Jobs++
			failed := false
			for _, c := range j.Status.Conditions {
				if c.Type == "Failed" && c.Status == corev1.ConditionTrue {
					failed = true
				}
			}
			if failed {
				a.out.Totals.JobsFailed++
				w := a.workloads[workloadKey{"Job", j.Namespace, j.Name}]
				if w == nil {
					w = &WorkloadInfo{Kind: "Job", Namespace: j.Namespace, Name: j.Name}
					a.workloads[workloadKey{"Job", j.Namespace, j.Name}] = w
				}
				w.Unhealthy = append(w.Unhealthy, UnhealthyPod{Namespace: j.Namespace, Pod: "(job)", Reason: "JobFailed"})
			}
		}
		if cont = l.Continue; cont == "" {
			break
		}
	}
}

func (a *archBuilder) listWarnings(ctx context.Context) {
	l, err := a.kc.Typed().CoreV1().Events(a.ns).List(ctx, metav1.ListOptions{FieldSelector: "type=Warning", Limit: archPage})
	if err != nil {
		a.gap("events", err)
		return
	}
	type key struct{ obj, reason string }
	groups := map[key]*WarningEvent{}
	lastSeen := map[key]time.Time{}
	for _, e := range l.Items {
		obj := fmt.Sprintf("%s/%s/%s", e.InvolvedObject.Kind, e.InvolvedObject.Namespace, e.InvolvedObject.Name)
		if a.detail != nil && !strings.HasPrefix(e.InvolvedObject.Name, a.detail.name) {
			continue
		}
		t := e.LastTimestamp.Time
		if t.IsZero() {
			t = e.EventTime.Time
		}
		if t.IsZero() {
			t = e.CreationTimestamp.Time
		}
		k := key{obj, e.Reason}
		g := groups[k]
		if g == nil {
			g = &WarningEvent{Object: obj, Reason: e.Reason}
			groups[k] = g
		}
		g.Count += max(e.Count, 1)
		if t.After(lastSeen[k]) {
			lastSeen[k] = t
			g.Message = truncate(a.d.redact(e.Message), 240)
			g.Last = age(a.now, t)
		}
	}
	keys := slices.Collect(maps.Keys(groups))
	sort.Slice(keys, func(i, j int) bool { return lastSeen[keys[i]].After(lastSeen[keys[j]]) })
	for _, k := range keys[:min(len(keys), maxWarnings)] {
		a.out.Warnings = append(a.out.Warnings, *groups[k])
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
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
