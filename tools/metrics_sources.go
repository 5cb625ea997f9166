package tools

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/prom"
)

// AnnotationMetricsSource names the metrics source of a rollout's HTTP signals (a row of prom.Sources),
// for when discovery would pick another one.
const AnnotationMetricsSource = "fixloop.dev/metrics-source"

// canarySources is what discovery found for a canary's two sides.
type canarySources struct {
	disc  *prom.Discovery
	sides [2]prom.Side
}

// rolloutTraffic reads the Services Argo routes stable and canary traffic through (empty without
// traffic routing) and the metrics-source override annotation.
func rolloutTraffic(ro *kube.Rollout) (stableSvc, canarySvc, force string) {
	if ro == nil || ro.Object == nil {
		return "", "", ""
	}
	obj := ro.Object.Object
	stableSvc, _, _ = unstructured.NestedString(obj, "spec", "strategy", "canary", "stableService")
	canarySvc, _, _ = unstructured.NestedString(obj, "spec", "strategy", "canary", "canaryService")
	return stableSvc, canarySvc, strings.TrimSpace(ro.Object.GetAnnotations()[AnnotationMetricsSource])
}

// discoverCanarySources asks Prometheus which known source carries the sides' HTTP metrics. A failure
// is a note: the resource metrics and the logs still judge.
func discoverCanarySources(ctx context.Context, d Deps, ns, rollout string, stable, canary []corev1.Pod) (*canarySources, []string) {
	pc, err := d.promClient()
	if err != nil {
		return nil, []string{err.Error()}
	}
	cs := &canarySources{sides: [2]prom.Side{{Namespace: ns, Pods: podNames(stable)}, {Namespace: ns, Pods: podNames(canary)}}}
	force := ""
	if rollout != "" && d.Kube != nil {
		if ro, err := d.Kube.GetRollout(ctx, ns, rollout); err == nil {
			cs.sides[0].Service, cs.sides[1].Service, force = rolloutTraffic(ro)
		}
	}
	if cs.disc, err = prom.Discover(ctx, pc, cs.sides[:], force); err != nil {
		return nil, []string{"metrics source discovery: " + err.Error()}
	}
	return cs, nil
}

func podNames(pods []corev1.Pod) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = p.Name
	}
	return out
}

// withSource points the HTTP metrics of defs at the discovered source for one side (0 stable, 1 canary):
// their templates get the source's series with the side's selector filled in. Config prometheus.promql
// overrides still win (rangeMetrics applies them by name). It also returns the side's request-count query.
func (cs *canarySources) withSource(defs []metricDef, side int) ([]metricDef, string) {
	requests := `sum(increase(http_requests_total{{{sel}}}[{{window}}]))`
	if cs == nil {
		return defs, requests
	}
	out := append([]metricDef(nil), defs...)
	for _, signal := range []string{"traffic", "latency"} {
		src, ok := cs.disc.Source(signal)
		if !ok {
			continue
		}
		sel, err := cs.disc.Selector(signal, cs.sides[side])
		if err != nil {
			continue
		}
		tmpls := src.Templates()
		for i, def := range out {
			isLatency := strings.HasPrefix(def.name, "latency_")
			if t, ok := tmpls[def.name]; ok && isLatency == (signal == "latency") {
				out[i].query = strings.ReplaceAll(t, "{{sel}}", sel)
			}
		}
		if signal == "traffic" {
			requests = fmt.Sprintf(`sum(increase(%s{%s}[{{window}}]))`, src.Requests, sel)
		}
	}
	return out, requests
}

// describe says which sources the verdict's HTTP metrics came from, or that none was found.
func (cs *canarySources) describe() (string, bool) {
	if cs == nil {
		return "", true
	}
	if cs.disc.Traffic == "" {
		var looked []string
		for _, c := range cs.disc.Candidates {
			looked = append(looked, c.Source)
		}
		return "no HTTP metrics source found for these pods (looked for " + strings.Join(looked, ", ") +
			"; `fixloop metrics sources` says why each is missing): request errors and latency are judged from logs only", false
	}
	how := "discovered"
	if cs.disc.Forced {
		how = "set by annotation " + AnnotationMetricsSource
	}
	lat := cs.disc.Latency
	if lat == "" {
		lat = "none found"
	}
	return fmt.Sprintf("HTTP metrics source: %s (%s); latency: %s", cs.disc.Traffic, how, lat), true
}

// judgeWith names the metrics source in the verdict; without any, the verdict says so and a promote or
// inconclusive verdict loses a quarter of its confidence (the HTTP signals users feel were not measured).
// An abort keeps its confidence: it rests on evidence that was found, which missing metrics do not weaken.
func (cs *canarySources) judgeWith(out *CompareCanaryOutput) {
	msg, found := cs.describe()
	if msg == "" {
		return
	}
	out.Notes = append(out.Notes, msg)
	if found {
		out.Analysis = strings.TrimSpace(out.Analysis + " Metrics: " + msg + ".")
		return
	}
	out.Analysis = strings.TrimSpace(out.Analysis + " Note: " + msg + ".")
	if out.Verdict != judge.Abort {
		out.Confidence = out.Confidence * 3 / 4
	}
}

// MetricsSourcesOutput is what `fixloop metrics sources` shows for a rollout.
type MetricsSourcesOutput struct {
	Namespace string          `json:"namespace"`
	Rollout   string          `json:"rollout"`
	Sides     [2]prom.Side    `json:"-"`
	Services  [2]string       `json:"services" jsonschema:"stable and canary Services of the rollout's traffic routing"`
	Pods      [2]int          `json:"pods" jsonschema:"stable and canary pods looked at"`
	Override  string          `json:"override,omitempty"`
	Discovery *prom.Discovery `json:"discovery"`
	Summary   string          `json:"summary"`
}

// MetricsSources discovers the metrics sources of a rollout's stable and canary pods (the stable side
// alone when no canary is in flight).
func MetricsSources(ctx context.Context, d Deps, ns, rollout string) (*MetricsSourcesOutput, error) {
	kc, err := d.kubeClient()
	if err != nil {
		return nil, err
	}
	pc, err := d.promClient()
	if err != nil {
		return nil, err
	}
	ro, err := kc.GetRollout(ctx, ns, rollout)
	if err != nil {
		return nil, err
	}
	out := &MetricsSourcesOutput{Namespace: ns, Rollout: rollout}
	out.Services[0], out.Services[1], out.Override = rolloutTraffic(ro)
	hashes := []string{ro.StableHash}
	if ro.CanaryInFlight() {
		hashes = append(hashes, ro.CanaryHash)
	}
	var sides []prom.Side
	for i, h := range hashes {
		pods, err := listStartedPods(ctx, kc, ns, ro.PodSelector(h))
		if err != nil {
			return nil, err
		}
		out.Pods[i] = len(pods)
		sides = append(sides, prom.Side{Namespace: ns, Pods: podNames(pods), Service: out.Services[i]})
	}
	if out.Discovery, err = prom.Discover(ctx, pc, sides, out.Override); err != nil {
		return nil, err
	}
	out.Summary, _ = (&canarySources{disc: out.Discovery}).describe()
	return out, nil
}
