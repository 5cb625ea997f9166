package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// targetGroup is one Prometheus file_sd entry.
type targetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// writeTargets publishes ready demo processes as Prometheus file_sd targets labelled like a cluster's
// pod scrape (namespace, pod, container, app, rollouts_pod_template_hash).
func (s *supervisor) writeTargets() {
	s.targetsMu.Lock()
	defer s.targetsMu.Unlock()
	s.mu.Lock()
	groups := []targetGroup{}
	for _, p := range s.procs {
		if !p.ready {
			continue
		}
		l := map[string]string{"namespace": p.ns, "pod": p.name, "container": p.container, "node": p.node}
		if v := p.labels["app"]; v != "" {
			l["app"] = v
		}
		if v := p.labels["rollouts-pod-template-hash"]; v != "" {
			l["rollouts_pod_template_hash"] = v
		}
		groups = append(groups, targetGroup{Targets: []string{fmt.Sprintf("127.0.0.1:%d", p.port)}, Labels: l})
	}
	s.mu.Unlock()
	groups = append(groups, s.shapeTargets()...)
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].Targets[0] < groups[j].Targets[0] })
	b, _ := json.MarshalIndent(groups, "", " ")
	dir := filepath.Join(s.dir, "prometheus", "targets")
	tmp := filepath.Join(dir, ".pods.json.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		s.log.Error("writing prometheus targets", "err", err)
		return
	}
	_ = os.Rename(tmp, filepath.Join(dir, "pods.json"))
}

// traffic sends a steady request rate through every Service with a selector, round-robin over the
// ready demo processes it selects, so each revision's share of requests follows its share of pods.
func (s *supervisor) traffic(ctx context.Context) {
	const tick = 100 * time.Millisecond
	credit := map[string]float64{}
	next := map[string]int{}
	sem := make(chan struct{}, 64)
	t := time.NewTicker(tick)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Credit by elapsed time, not ticks: a loaded machine drops ticks but the rate must hold.
		elapsed := time.Since(last).Seconds()
		last = time.Now()
		svcs, err := s.svcs.List(labels.Everything())
		if err != nil {
			continue
		}
		for _, svc := range svcs {
			if len(svc.Spec.Selector) == 0 {
				continue
			}
			rps := float64(defaultRPS)
			if v, ok := svc.Annotations[TrafficAnnotation]; ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
					rps = f
				}
			}
			sel := labels.SelectorFromSet(svc.Spec.Selector)
			var targets []*demoProc
			s.mu.Lock()
			for _, p := range s.procs {
				if p.ready && p.ns == svc.Namespace && sel.Matches(labels.Set(p.labels)) {
					targets = append(targets, p)
				}
			}
			s.mu.Unlock()
			key := svc.Namespace + "/" + svc.Name
			if len(targets) == 0 || rps == 0 {
				delete(credit, key)
				continue
			}
			sort.Slice(targets, func(i, j int) bool { return targets[i].port < targets[j].port })
			credit[key] += rps * min(elapsed, 1)
			for credit[key] >= 1 {
				credit[key]--
				p := targets[next[key]%len(targets)]
				next[key]++
				select {
				case sem <- struct{}{}:
					go func() {
						defer func() { <-sem }()
						start := time.Now()
						resp, err := s.httpClient.Get(fmt.Sprintf("http://127.0.0.1:%d/color", p.port))
						if err != nil {
							return // no answer: nothing a sidecar or proxy would count as this pod's response
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						s.recordShapes(svc, p.name, resp.StatusCode, time.Since(start))
					}()
				default: // saturated: drop rather than queue without bound
				}
			}
		}
	}
}

// kubeStateCollector exports kube-state-metrics-named series from the pod cache.
type kubeStateCollector struct{ s *supervisor }

var (
	ksmLimits   = prometheus.NewDesc("kube_pod_container_resource_limits", "Container resource limits.", []string{"namespace", "pod", "uid", "container", "node", "resource", "unit"}, nil)
	ksmRequests = prometheus.NewDesc("kube_pod_container_resource_requests", "Container resource requests.", []string{"namespace", "pod", "uid", "container", "node", "resource", "unit"}, nil)
	ksmRestarts = prometheus.NewDesc("kube_pod_container_status_restarts_total", "Container restarts.", []string{"namespace", "pod", "uid", "container"}, nil)
	ksmReady    = prometheus.NewDesc("kube_pod_container_status_ready", "Container readiness.", []string{"namespace", "pod", "uid", "container"}, nil)
	ksmPhase    = prometheus.NewDesc("kube_pod_status_phase", "Pod phase.", []string{"namespace", "pod", "uid", "phase"}, nil)
	ksmInfo     = prometheus.NewDesc("kube_pod_info", "Pod information.", []string{"namespace", "pod", "uid", "node", "pod_ip", "host_ip"}, nil)
	ksmLabels   = prometheus.NewDesc("kube_pod_labels", "Pod labels.", []string{"namespace", "pod", "uid", "label_app", "label_rollouts_pod_template_hash"}, nil)
)

func (k *kubeStateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{ksmLimits, ksmRequests, ksmRestarts, ksmReady, ksmPhase, ksmInfo, ksmLabels} {
		ch <- d
	}
}

func (k *kubeStateCollector) Collect(ch chan<- prometheus.Metric) {
	pods, err := k.s.pods.List(labels.Everything())
	if err != nil {
		return
	}
	k.s.mu.Lock()
	restarts := make(map[types.UID]int, len(k.s.restarts))
	for uid, n := range k.s.restarts {
		restarts[uid] = n
	}
	k.s.mu.Unlock()
	for _, p := range pods {
		uid := string(p.UID)
		ch <- prometheus.MustNewConstMetric(ksmInfo, prometheus.GaugeValue, 1, p.Namespace, p.Name, uid, p.Spec.NodeName, p.Status.PodIP, p.Status.HostIP)
		ch <- prometheus.MustNewConstMetric(ksmLabels, prometheus.GaugeValue, 1, p.Namespace, p.Name, uid, p.Labels["app"], p.Labels["rollouts-pod-template-hash"])
		for _, phase := range []corev1.PodPhase{corev1.PodPending, corev1.PodRunning, corev1.PodSucceeded, corev1.PodFailed, corev1.PodUnknown} {
			v := 0.0
			if p.Status.Phase == phase {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(ksmPhase, prometheus.GaugeValue, v, p.Namespace, p.Name, uid, string(phase))
		}
		status := map[string]corev1.ContainerStatus{}
		for _, cs := range p.Status.ContainerStatuses {
			status[cs.Name] = cs
		}
		_, demo := isDemoPod(p)
		for _, c := range p.Spec.Containers {
			for _, r := range []struct {
				desc *prometheus.Desc
				list corev1.ResourceList
			}{{ksmLimits, c.Resources.Limits}, {ksmRequests, c.Resources.Requests}} {
				if q, ok := r.list[corev1.ResourceCPU]; ok {
					ch <- prometheus.MustNewConstMetric(r.desc, prometheus.GaugeValue, q.AsApproximateFloat64(), p.Namespace, p.Name, uid, c.Name, p.Spec.NodeName, "cpu", "core")
				}
				if q, ok := r.list[corev1.ResourceMemory]; ok {
					ch <- prometheus.MustNewConstMetric(r.desc, prometheus.GaugeValue, q.AsApproximateFloat64(), p.Namespace, p.Name, uid, c.Name, p.Spec.NodeName, "memory", "byte")
				}
			}
			n := float64(status[c.Name].RestartCount)
			if demo {
				n += float64(restarts[p.UID])
			}
			ch <- prometheus.MustNewConstMetric(ksmRestarts, prometheus.CounterValue, n, p.Namespace, p.Name, uid, c.Name)
			ready := 0.0
			if status[c.Name].Ready {
				ready = 1
			}
			ch <- prometheus.MustNewConstMetric(ksmReady, prometheus.GaugeValue, ready, p.Namespace, p.Name, uid, c.Name)
		}
	}
}
