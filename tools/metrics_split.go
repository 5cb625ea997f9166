package tools

import (
	"fmt"
	"sort"
	"strings"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/fixloop/fixloop/internal/kube"
)

// AnnotationMetricsSource names the metrics source of a rollout's HTTP signals (a row of prom.Sources),
// for when discovery would pick another one.
const AnnotationMetricsSource = "fixloop.dev/metrics-source"

// TrafficSplit is how a Rollout's traffic router tells stable from canary, which is how that router
// labels its metrics: the Services it routes each side through (Istio destination_service, ingress-nginx
// service, Traefik and Envoy clusters) and, for ingress-nginx, the Ingress each side's requests come
// through (Argo copies the stable Ingress into <rollout>-<ingress>-canary for the canary).
type TrafficSplit struct {
	Routers   []string    `json:"routers,omitempty" jsonschema:"traffic routers of spec.strategy.canary.trafficRouting (nginx, istio, smi, alb, traefik, plugin:<name>, ...)"`
	Services  [2]string   `json:"services" jsonschema:"stable and canary Services"`
	Ingresses [2][]string `json:"ingresses,omitempty" jsonschema:"ingress-nginx: stable Ingresses and Argo's canary copies"`
	Note      string      `json:"note,omitempty" jsonschema:"why the router's per-Service series cannot tell the sides apart"`
	Override  string      `json:"-"`
}

// canaryIngressName is the name Argo Rollouts gives the canary copy of a stable Ingress (its
// utils/ingress.GetCanaryIngressName: <rollout>-<stable ingress>, cut to fit 253 characters, + -canary).
func canaryIngressName(rollout, stableIngress string) string {
	const suffix = "-canary"
	prefix := rollout + "-" + stableIngress
	if len(prefix) > 253-len(suffix) {
		prefix = prefix[:253-len(suffix)]
	}
	return prefix + suffix
}

// rolloutSplit reads spec.strategy.canary of the Rollout (Argo's own types) and the metrics-source
// annotation. A Rollout without a canary strategy or traffic routing splits by pods only.
func rolloutSplit(ro *kube.Rollout) (TrafficSplit, error) {
	var ts TrafficSplit
	if ro == nil || ro.Object == nil {
		return ts, nil
	}
	ts.Override = strings.TrimSpace(ro.Object.GetAnnotations()[AnnotationMetricsSource])
	v, _, _ := unstructured.NestedFieldNoCopy(ro.Object.Object, "spec", "strategy", "canary")
	raw, ok := v.(map[string]any)
	if !ok {
		return ts, nil
	}
	var c v1alpha1.CanaryStrategy
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &c); err != nil {
		return ts, fmt.Errorf("rollout %s/%s spec.strategy.canary: %w", ro.Namespace, ro.Name, err)
	}
	ts.Services = [2]string{c.StableService, c.CanaryService}
	tr := c.TrafficRouting
	if tr == nil {
		return ts, nil
	}
	ts.Routers = routers(tr)
	if tr.Nginx != nil {
		stable := append([]string(nil), tr.Nginx.StableIngresses...)
		if tr.Nginx.StableIngress != "" {
			stable = append([]string{tr.Nginx.StableIngress}, stable...)
		}
		for _, ing := range stable {
			ts.Ingresses[0] = append(ts.Ingresses[0], ing)
			ts.Ingresses[1] = append(ts.Ingresses[1], canaryIngressName(ro.Name, ing))
		}
	}
	if tr.Istio != nil && tr.Istio.DestinationRule != nil {
		// Subset-level split: one host for both sides, so only the sidecars' per-pod series tell them apart.
		ts.Note = fmt.Sprintf("Istio subset split (DestinationRule %s): stable and canary share a Service; measured per pod by their sidecars", tr.Istio.DestinationRule.Name)
	}
	if ts.Services[0] == "" || ts.Services[1] == "" {
		ts.Services = [2]string{}
	}
	return ts, nil
}

// routers names the traffic routers a Rollout uses.
func routers(tr *v1alpha1.RolloutTrafficRouting) []string {
	var out []string
	for name, set := range map[string]bool{"nginx": tr.Nginx != nil, "istio": tr.Istio != nil, "smi": tr.SMI != nil, "alb": tr.ALB != nil,
		"ambassador": tr.Ambassador != nil, "appmesh": tr.AppMesh != nil, "traefik": tr.Traefik != nil, "apisix": tr.Apisix != nil} {
		if set {
			out = append(out, name)
		}
	}
	for name := range tr.Plugins {
		out = append(out, "plugin:"+name)
	}
	sort.Strings(out)
	return out
}

// describe is the split in words (metrics sources output, notes).
func (ts TrafficSplit) describe() string {
	if len(ts.Routers) == 0 && ts.Services[0] == "" {
		return "no traffic routing: stable and canary told apart by pod"
	}
	parts := []string{}
	if len(ts.Routers) > 0 {
		parts = append(parts, "traffic routing "+strings.Join(ts.Routers, ", "))
	}
	if ts.Services[0] != "" {
		parts = append(parts, fmt.Sprintf("Services %s / %s", ts.Services[0], ts.Services[1]))
	}
	if len(ts.Ingresses[0]) > 0 {
		parts = append(parts, fmt.Sprintf("Ingresses %s / %s", strings.Join(ts.Ingresses[0], ","), strings.Join(ts.Ingresses[1], ",")))
	}
	if ts.Note != "" {
		parts = append(parts, ts.Note)
	}
	return strings.Join(parts, "; ")
}
