package tools

// get_architecture: services, ingresses, storage, cron jobs and warning events around the workloads.

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
	"k8s.io/apimachinery/pkg/labels"
)

// listRollupResources adds what surrounds the workloads; each kind that cannot be listed is a gap.
func (a *archBuilder) listRollupResources(ctx context.Context) {
	a.listServices(ctx)
	a.listIngresses(ctx)
	a.listHPAs(ctx)
	a.listPVCs(ctx)
	a.listCronJobs(ctx)
	a.listJobs(ctx)
}

// listServices records which workloads each service's selector reaches.
func (a *archBuilder) listServices(ctx context.Context) {
	core := a.kc.Typed().CoreV1()
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
}

func (a *archBuilder) listIngresses(ctx context.Context) {
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
}

func (a *archBuilder) listHPAs(ctx context.Context) {
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
}

func (a *archBuilder) listPVCs(ctx context.Context) {
	core := a.kc.Typed().CoreV1()
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
}

func (a *archBuilder) listCronJobs(ctx context.Context) {
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
}

// listJobs counts jobs; a failed one is listed as an unhealthy workload.
func (a *archBuilder) listJobs(ctx context.Context) {
	batch := a.kc.Typed().BatchV1()
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
