package tools

// get_architecture: pod health, ownership and ages.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/fixloop/fixloop/internal/kube"
)

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
