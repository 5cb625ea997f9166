package triage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/fixloop/fixloop/internal/logmine"
	"github.com/fixloop/fixloop/tools"
)

// CanaryEvidence is everything the judge sees: redacted log records and per-pod metric samples of both
// sides.
type CanaryEvidence struct {
	Namespace      string
	Rollout        string
	StableSelector string
	CanarySelector string
	StableLogs     []logmine.Record
	CanaryLogs     []logmine.Record
	StableMetrics  []MetricSamples
	CanaryMetrics  []MetricSamples
	Ignore         []string
	Mask           []string
	ExtraPrompt    string
	Notes          []string // what could not be read
}

// MetricSamples are the values of one metric over the window (all pods of one side).
type MetricSamples struct {
	Name      string    `json:"name"`
	Values    []float64 `json:"values"`
	Direction string    `json:"direction"` // "increase": higher is worse; "decrease": lower is worse
	Critical  bool      `json:"critical"`
	MinEffect float64   `json:"minEffect,omitempty"` // smallest shift that matters, in the metric's unit
	pods      int       // series (pods) the values came from
}

// judgedMetrics are compared between stable and canary; critical ones fail the canary on regression.
// minEffect is the smallest shift users would notice (ratio, seconds, percentage points, restarts).
var judgedMetrics = []struct {
	name      string
	direction string
	critical  bool
	minEffect float64
}{
	{"rate_5xx", "increase", true, 0.002},
	{"request_rate", "decrease", false, 0},
	{"latency_p95", "increase", false, 0.02},
	{"memory_limit_pct", "increase", false, 2},
	{"cpu_limit_pct", "increase", false, 2},
	{"restarts", "increase", true, 0},
}

const podTemplateHashLabel = "rollouts-pod-template-hash"

// collect resolves the stable and canary pods and reads their logs and metrics.
func (t *Triage) collect(ctx context.Context, in AnalyzeInput, res *AnalyzeResult) (*CanaryEvidence, error) {
	d := t.cfg.Tools
	ev := &CanaryEvidence{Namespace: in.Namespace, Rollout: in.Rollout, Ignore: in.Ignore, Mask: in.Mask, ExtraPrompt: in.ExtraPrompt}
	usingHashes := false
	if in.Rollout != "" && d.Kube != nil {
		ro, err := d.Kube.GetRollout(ctx, in.Namespace, in.Rollout)
		switch {
		case err != nil && (in.StableSelector == "" || in.CanarySelector == ""):
			return nil, fmt.Errorf("read rollout %s/%s: %w", in.Namespace, in.Rollout, err)
		case err != nil:
			ev.Notes = append(ev.Notes, fmt.Sprintf("rollout not readable (%v); using the given selectors", err))
		case ro.CanaryInFlight():
			res.StableHash, res.CanaryHash = ro.StableHash, ro.CurrentHash
			ev.StableSelector = podTemplateHashLabel + "=" + ro.StableHash
			ev.CanarySelector = podTemplateHashLabel + "=" + ro.CurrentHash
			usingHashes = true
		case in.StableSelector == "" || in.CanarySelector == "":
			return nil, fmt.Errorf("rollout %s/%s has no canary in flight (stable and current revision are both %q)", in.Namespace, in.Rollout, ro.StableHash)
		default:
			res.StableHash = ro.StableHash
		}
	} else if d.Kube == nil {
		return nil, errors.New("no cluster configured: set KUBECONFIG or --kubeconfig")
	}
	if !usingHashes {
		ev.StableSelector, ev.CanarySelector = in.StableSelector, in.CanarySelector
		if ev.StableSelector == "" || ev.CanarySelector == "" {
			return nil, errors.New("no canary in flight and no stableSelector/canarySelector given")
		}
	}

	var err error
	var stablePods, canaryPods int
	if ev.StableLogs, stablePods, err = t.readLogs(ctx, in.Namespace, ev.StableSelector, ev); err != nil {
		return nil, fmt.Errorf("stable logs: %w", err)
	}
	if ev.CanaryLogs, canaryPods, err = t.readLogs(ctx, in.Namespace, ev.CanarySelector, ev); err != nil {
		return nil, fmt.Errorf("canary logs: %w", err)
	}
	res.StablePods, res.CanaryPods = stablePods, canaryPods
	if canaryPods == 0 {
		return nil, fmt.Errorf("no canary pods match %q in %s", ev.CanarySelector, in.Namespace)
	}

	switch {
	case d.Prom == nil:
		ev.Notes = append(ev.Notes, "no Prometheus configured: metrics not compared")
	case !usingHashes:
		ev.Notes = append(ev.Notes, "metrics are compared only for a rollout with a canary in flight; judged on logs")
	default:
		ev.StableMetrics = t.readMetrics(ctx, in, "stable", ev)
		ev.CanaryMetrics = t.readMetrics(ctx, in, "canary", ev)
	}
	res.Notes = append(res.Notes, ev.Notes...)
	return ev, nil
}

func (t *Triage) readLogs(ctx context.Context, ns, selector string, ev *CanaryEvidence) ([]logmine.Record, int, error) {
	out, err := tools.GetLogs(ctx, t.cfg.Tools, tools.GetLogsInput{
		Namespace: ns, LabelSelector: selector, SinceSeconds: int64(t.cfg.LogWindow.Seconds()),
		MaxLines: 5000, MaxBytes: 4 << 20,
	})
	if err != nil {
		return nil, 0, err
	}
	var recs []logmine.Record
	pods := 0
	for _, p := range out.Pods {
		pods++
		if p.Error != "" {
			ev.Notes = append(ev.Notes, fmt.Sprintf("logs of %s: %s", p.Pod, p.Error))
			continue
		}
		r := logmine.NewReader(strings.NewReader(strings.Join(p.Lines, "\n")), logmine.ReaderOptions{Source: p.Pod})
		for {
			rec, ok := r.Next()
			if !ok {
				break
			}
			recs = append(recs, rec)
		}
	}
	if out.Truncated {
		ev.Notes = append(ev.Notes, "logs truncated: "+out.Truncation)
	}
	return recs, pods, nil
}

func (t *Triage) readMetrics(ctx context.Context, in AnalyzeInput, role string, ev *CanaryEvidence) []MetricSamples {
	names := make([]string, len(judgedMetrics))
	for i, m := range judgedMetrics {
		names[i] = m.name
	}
	out, err := tools.GetMetrics(ctx, t.cfg.Tools, tools.GetMetricsInput{
		Namespace: in.Namespace, Rollout: in.Rollout, Role: role, Window: t.cfg.MetricWindow,
		Metrics: names, ByPod: true, MaxPoints: 60,
	})
	if err != nil {
		ev.Notes = append(ev.Notes, fmt.Sprintf("%s metrics: %v", role, err))
		return nil
	}
	var samples []MetricSamples
	for _, m := range out.Metrics {
		var spec = judgedMetrics[0]
		found := false
		for _, j := range judgedMetrics {
			if j.name == m.Name {
				spec, found = j, true
			}
		}
		if !found || m.Status != "ok" {
			continue
		}
		s := MetricSamples{Name: m.Name, Direction: spec.direction, Critical: spec.critical, MinEffect: spec.minEffect}
		s.pods = len(m.Series)
		for _, series := range m.Series {
			for _, p := range series.Points {
				s.Values = append(s.Values, p[1])
			}
		}
		if len(s.Values) > 0 {
			samples = append(samples, s)
		}
	}
	// No 5xx series while requests flow means no 5xx at all (Prometheus has no series for a counter that
	// never incremented): that is a measured zero, not missing data.
	var reqs *MetricSamples
	has5xx := false
	for i := range samples {
		switch samples[i].Name {
		case "request_rate":
			reqs = &samples[i]
		case "rate_5xx":
			has5xx = true
		}
	}
	if reqs != nil && !has5xx {
		spec := judgedMetrics[0]
		samples = append(samples, MetricSamples{Name: "rate_5xx", Values: make([]float64, len(reqs.Values)), Direction: spec.direction, Critical: spec.critical, MinEffect: spec.minEffect, pods: reqs.pods})
		out.Missing = slices.DeleteFunc(out.Missing, func(m string) bool { return m == "rate_5xx" })
	}
	if len(out.Missing) > 0 {
		ev.Notes = append(ev.Notes, fmt.Sprintf("no %s data for %s", role, strings.Join(out.Missing, ", ")))
	}
	return samples
}
