package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/prom"
)

// metricSources is what discovery found for the sides measured together (a workload's pods; a canary's
// stable and canary pods) and how the rollout's router splits them.
type metricSources struct {
	disc  *prom.Discovery
	sides []prom.Side
	split TrafficSplit
	// forcedBy names the override that chose the source when discovery did not.
	forcedBy string
}

// discoverSources asks Prometheus which known source carries the sides' HTTP metrics.
func discoverSources(ctx context.Context, d Deps, sides []prom.Side, split TrafficSplit) (*metricSources, error) {
	pc, err := d.promClient()
	if err != nil {
		return nil, err
	}
	force, forcedBy := split.Override, "annotation "+AnnotationMetricsSource
	if force == "" && d.MetricsSource != "" {
		force, forcedBy = d.MetricsSource, "config prometheus.source (--metrics-source)"
	}
	disc, err := prom.Discover(ctx, pc, sides, force)
	if err != nil {
		return nil, fmt.Errorf("metrics source discovery: %w", err)
	}
	return &metricSources{disc: disc, sides: sides, split: split, forcedBy: forcedBy}, nil
}

// canarySides are a rollout's stable and canary pods with the Services and Ingresses its router sends
// each side's requests through.
func canarySides(ns string, split TrafficSplit, stable, canary []string) []prom.Side {
	sides := []prom.Side{{Namespace: ns, Pods: stable}, {Namespace: ns, Pods: canary}}
	for i := range sides {
		if split.Services[i] != "" {
			sides[i].Services = []string{split.Services[i]}
		}
		sides[i].Ingresses = split.Ingresses[i]
	}
	return sides
}

// discoverCanarySources finds the metrics source of a canary's two sides. A failure is a note: the
// resource metrics and the logs still judge.
func discoverCanarySources(ctx context.Context, d Deps, ns, rollout string, stable, canary []corev1.Pod) (*metricSources, []string) {
	var split TrafficSplit
	var notes []string
	if rollout != "" && d.Kube != nil {
		ro, err := d.Kube.GetRollout(ctx, ns, rollout)
		if err == nil {
			split, err = rolloutSplit(ro)
		}
		if err != nil {
			notes = append(notes, "traffic routing not read, sides told apart by pod: "+err.Error())
		}
	}
	ms, err := discoverSources(ctx, d, canarySides(ns, split, podNames(stable), podNames(canary)), split)
	if err != nil {
		return nil, append(notes, err.Error())
	}
	return ms, notes
}

func podNames(pods []corev1.Pod) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = p.Name
	}
	return out
}

// httpSignal says which discovered source a named metric reads: traffic (requests and errors) or latency;
// "" for the resource metrics every pod has.
func httpSignal(name string) string {
	switch {
	case strings.HasPrefix(name, "latency_"):
		return "latency"
	case slices.Contains([]string{"request_rate", "rate_4xx", "rate_5xx", "error_ratio", "requests"}, name):
		return "traffic"
	}
	return ""
}

// withSource points the HTTP metrics of defs at the discovered source for one side: their query is the
// source's template with the side's selector filled in, or empty with why (config prometheus.promql
// overrides still win: rangeMetrics applies them by name).
func (ms *metricSources) withSource(defs []metricDef, side int) []metricDef {
	out := append([]metricDef(nil), defs...)
	for i := range out {
		signal := httpSignal(out[i].name)
		if signal == "" {
			continue
		}
		out[i].query, out[i].source, out[i].why = ms.query(out[i].name, signal, side)
	}
	return out
}

// source is the source discovery chose for a signal (none when discovery did not run).
func (ms *metricSources) source(signal string) (prom.Source, bool) {
	if ms == nil {
		return prom.Source{}, false
	}
	return ms.disc.Source(signal)
}

// query is one HTTP metric's PromQL for a side, the source it reads, or why there is none.
func (ms *metricSources) query(name, signal string, side int) (q, source, why string) {
	if ms == nil {
		return "", "", "metrics source discovery did not run"
	}
	src, ok := ms.disc.Source(signal)
	if !ok {
		return "", "", ms.disc.Why(signal)
	}
	sel, err := ms.disc.Selector(signal, ms.sides[side])
	if err != nil {
		return "", src.Name, fmt.Sprintf("%s series cannot select these pods: %v", src.Name, err)
	}
	t, ok := src.Templates()[name]
	if !ok {
		return "", src.Name, fmt.Sprintf("%s has no %s (it classifies failures, not status codes)", src.Name, name)
	}
	return strings.ReplaceAll(t, "{{sel}}", sel), src.Name, ""
}

// describe says which sources the verdict's HTTP metrics came from, or that none was found.
func (ms *metricSources) describe() (string, bool) {
	if ms == nil {
		return "", true
	}
	if ms.disc.Traffic == "" {
		return ms.disc.Why("traffic") + " (`fixloop metrics sources` says why each is missing): request errors and latency are judged from logs only", false
	}
	how := "discovered"
	if ms.disc.Forced {
		how = "set by " + ms.forcedBy
	}
	lat := ms.disc.Latency
	if lat == "" {
		lat = "none found"
	}
	return fmt.Sprintf("HTTP metrics source: %s (%s); latency: %s", ms.disc.Traffic, how, lat), true
}

// judgeWith names the metrics source in the verdict; without any, the verdict says so and a promote or
// inconclusive verdict loses a quarter of its confidence (the HTTP signals users feel were not measured),
// unless both sides' access lines carried each request's status: then the judge compared the failed
// share from the logs like an error-rate metric (argoproj/rollouts-demo exports no metrics at all).
// An abort keeps its confidence: it rests on evidence that was found, which missing metrics do not weaken.
func (ms *metricSources) judgeWith(out *CompareCanaryOutput) {
	msg, found := ms.describe()
	if msg == "" {
		return
	}
	out.Notes = append(out.Notes, msg)
	if found {
		out.Analysis = strings.TrimSpace(out.Analysis + " Metrics: " + msg + ".")
		return
	}
	if out.Summary.RequestStatusCompared {
		msg += fmt.Sprintf("; HTTP statuses read from the access lines instead (%d stable, %d canary requests)",
			out.Summary.StableStatusRecords, out.Summary.CanaryStatusRecords)
	}
	out.Analysis = strings.TrimSpace(out.Analysis + " Note: " + msg + ".")
	if out.Verdict != judge.Abort && !out.Summary.RequestStatusCompared {
		out.Confidence = out.Confidence * 3 / 4
	}
}

// MetricsSourcesOutput is what `fixloop metrics sources` shows for a rollout.
type MetricsSourcesOutput struct {
	Namespace string          `json:"namespace"`
	Rollout   string          `json:"rollout"`
	Split     TrafficSplit    `json:"split" jsonschema:"how the rollout's traffic router tells stable from canary"`
	Routing   string          `json:"routing" jsonschema:"the split in words"`
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
	ro, err := kc.GetRollout(ctx, ns, rollout)
	if err != nil {
		return nil, err
	}
	out := &MetricsSourcesOutput{Namespace: ns, Rollout: rollout}
	if out.Split, err = rolloutSplit(ro); err != nil {
		return nil, err
	}
	out.Routing, out.Override = out.Split.describe(), out.Split.Override
	if out.Override == "" {
		out.Override = d.MetricsSource
	}
	hashes := []string{ro.StableHash}
	if ro.CanaryInFlight() {
		hashes = append(hashes, ro.CanaryHash)
	}
	var pods [2][]string
	for i, h := range hashes {
		ps, err := listStartedPods(ctx, kc, ns, ro.PodSelector(h))
		if err != nil {
			return nil, err
		}
		out.Pods[i], pods[i] = len(ps), podNames(ps)
	}
	sides := canarySides(ns, out.Split, pods[0], pods[1])[:len(hashes)]
	ms, err := discoverSources(ctx, d, sides, out.Split)
	if err != nil {
		return nil, err
	}
	out.Discovery = ms.disc
	out.Summary, _ = ms.describe()
	return out, nil
}
