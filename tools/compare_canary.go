package tools

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/logmine"
)

// CompareCanaryInput names the two sides: a rollout (its stable and canary pod-template hashes) or
// two label selectors.
type CompareCanaryInput struct {
	Namespace      string   `json:"namespace" jsonschema:"namespace of the pods"`
	Rollout        string   `json:"rollout,omitempty" jsonschema:"Argo Rollout name: stable and canary pods are found from its stable and canary pod-template hashes"`
	StableSelector string   `json:"stableSelector,omitempty" jsonschema:"label selector of the stable pods, e.g. role=stable (overrides the rollout's)"`
	CanarySelector string   `json:"canarySelector,omitempty" jsonschema:"label selector of the canary pods, e.g. role=canary (overrides the rollout's)"`
	SinceSeconds   int64    `json:"sinceSeconds,omitempty" jsonschema:"window of logs and metrics in seconds (default 600)"`
	Ignore         []string `json:"ignore,omitempty" jsonschema:"regular expressions (case-insensitive): log records whose message matches are dropped, like grep -v, so events about them do not count, e.g. legacy endpoint /v1/colors. Patterns matching most lines (., \\S+) are refused. Metrics are never ignored."`
	Mask           []string `json:"mask,omitempty" jsonschema:"regular expressions (case-insensitive): the matched text is replaced by <masked> so a value that changes on purpose does not split one event in two, e.g. color=\\w+ or version=\\S+. Nothing is dropped: a new error line that prints the masked value still counts. A value change alone (blue -> green) is already reported as an informational changed_template."`
	ExtraPrompt    string   `json:"extraPrompt,omitempty" jsonschema:"operator intent in words, passed to the LLM when one is configured (e.g. the colour differs on purpose)"`
	SkipMetrics    bool     `json:"skipMetrics,omitempty" jsonschema:"judge logs only, without Prometheus"`
}

// CompareCanaryOutput is the judge's verdict plus which pods and metrics it rests on.
type CompareCanaryOutput struct {
	Verdict     string           `json:"verdict" jsonschema:"promote, abort or inconclusive"`
	Promote     bool             `json:"promote"`
	Confidence  int              `json:"confidence" jsonschema:"0-100"`
	Analysis    string           `json:"analysis"`
	RootCause   string           `json:"rootCause"`
	Remediation string           `json:"remediation"`
	Evidence    []judge.Evidence `json:"evidence" jsonschema:"findings, most severe first; examples redacted"`
	Fingerprint string           `json:"fingerprint" jsonschema:"stable across runs for the same failure (for issue deduplication); empty on promote"`
	Summary     judge.Summary    `json:"summary"`
	LLM         *judge.LLMReport `json:"llm,omitempty"`
	StablePods  []string         `json:"stablePods"`
	CanaryPods  []string         `json:"canaryPods"`
	Selectors   [2]string        `json:"selectors" jsonschema:"stable and canary label selectors used"`
	Notes       []string         `json:"notes,omitempty" jsonschema:"what was skipped or failed while gathering data"`
}

const (
	compareDefaultSince = 600
	compareTailLines    = 50000
)

// CompareCanary fetches the logs of ALL stable and canary pods (and their Prometheus metrics when
// configured), runs the canary judge and returns its verdict.
func CompareCanary(ctx context.Context, d Deps, in CompareCanaryInput) (*CompareCanaryOutput, error) {
	kc, err := d.kubeClient()
	if err != nil {
		return nil, err
	}
	if in.Namespace == "" {
		return nil, fmt.Errorf("namespace is required")
	}
	if in.SinceSeconds <= 0 {
		in.SinceSeconds = compareDefaultSince
	}
	stableSel, canarySel := in.StableSelector, in.CanarySelector
	if in.Rollout != "" && (stableSel == "" || canarySel == "") {
		ro, err := kc.GetRollout(ctx, in.Namespace, in.Rollout)
		if err != nil {
			return nil, err
		}
		if ro.Selector == "" || ro.StableHash == "" {
			return nil, fmt.Errorf("rollout %s/%s has no status.selector or stableRS yet: is the Argo Rollouts controller running?", in.Namespace, in.Rollout)
		}
		if !ro.CanaryInFlight() && canarySel == "" {
			return nil, fmt.Errorf("rollout %s/%s has no canary in flight: its current revision %s is the stable one", in.Namespace, in.Rollout, ro.CurrentHash)
		}
		if stableSel == "" {
			stableSel = ro.Selector + ",rollouts-pod-template-hash=" + ro.StableHash
		}
		if canarySel == "" {
			canarySel = ro.Selector + ",rollouts-pod-template-hash=" + ro.CanaryHash
		}
	}
	if stableSel == "" || canarySel == "" {
		return nil, fmt.Errorf("give rollout, or both stableSelector and canarySelector")
	}
	for _, s := range []string{stableSel, canarySel} {
		if _, err := labels.Parse(s); err != nil {
			return nil, fmt.Errorf("label selector %q: %w", s, err)
		}
	}
	out := &CompareCanaryOutput{Selectors: [2]string{stableSel, canarySel}, StablePods: []string{}, CanaryPods: []string{}}

	stablePods, err := listStartedPods(ctx, kc, in.Namespace, stableSel)
	if err != nil {
		return nil, err
	}
	canaryPods, err := listStartedPods(ctx, kc, in.Namespace, canarySel)
	if err != nil {
		return nil, err
	}
	var jin judge.Input
	jin.Stable, out.StablePods, out.Notes = fetchSideLogs(ctx, d, kc, stablePods, in.SinceSeconds, "stable", out.Notes)
	jin.Canary, out.CanaryPods, out.Notes = fetchSideLogs(ctx, d, kc, canaryPods, in.SinceSeconds, "canary", out.Notes)
	if len(canaryPods) == 0 {
		out.Notes = append(out.Notes, "no started pods match the canary selector "+canarySel)
	}
	if len(stablePods) == 0 {
		out.Notes = append(out.Notes, "no started pods match the stable selector "+stableSel)
	}

	switch {
	case in.SkipMetrics:
	case d.Prom == nil:
		out.Notes = append(out.Notes, "metrics skipped: no Prometheus configured (set FIXLOOP_PROMETHEUS_URL)")
	case len(stablePods) > 0 && len(canaryPods) > 0:
		var notes []string
		jin.StableMetrics, notes = sideMetrics(ctx, d, in.Namespace, stablePods, in.SinceSeconds, "stable")
		out.Notes = append(out.Notes, notes...)
		jin.CanaryMetrics, notes = sideMetrics(ctx, d, in.Namespace, canaryPods, in.SinceSeconds, "canary")
		out.Notes = append(out.Notes, notes...)
	}

	jin.Ignore, jin.Mask, jin.ExtraPrompt, jin.Rollout, jin.Namespace = in.Ignore, in.Mask, in.ExtraPrompt, in.Rollout, in.Namespace
	opts := judge.Options{Redactor: d.redactor(), LLM: d.LLM}
	v, err := judge.Judge(ctx, jin, opts)
	if err != nil {
		return nil, err
	}
	out.Verdict, out.Promote, out.Confidence = v.Verdict, v.Promote, v.Confidence
	out.Analysis, out.RootCause, out.Remediation = v.Analysis, v.RootCause, v.Remediation
	out.Evidence, out.Fingerprint, out.Summary, out.LLM = v.Evidence, v.Fingerprint, v.Summary, v.LLM
	for i, n := range out.Notes {
		out.Notes[i] = d.redact(n)
	}
	return out, nil
}

func listStartedPods(ctx context.Context, kc kube.Client, ns, selector string) ([]corev1.Pod, error) {
	var pods []corev1.Pod
	err := kube.ListPods(ctx, kc, ns, selector, 500, func(ps []corev1.Pod) bool {
		for _, p := range ps {
			if p.Status.Phase == corev1.PodPending && len(p.Status.ContainerStatuses) == 0 {
				continue // never started: no log to read
			}
			pods = append(pods, p)
		}
		return true
	})
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	return pods, err
}

// fetchSideLogs reads every pod's log and parses each separately, so a trace never joins across pods.
func fetchSideLogs(ctx context.Context, d Deps, kc kube.Client, pods []corev1.Pod, since int64, side string, notes []string) ([]logmine.Record, []string, []string) {
	names := []string{}
	if len(pods) == 0 {
		return nil, names, notes
	}
	reqs := make([]kube.LogRequest, 0, len(pods))
	for _, p := range pods {
		names = append(names, p.Name)
		c := pickContainer(p, "")
		reqs = append(reqs, kube.LogRequest{Namespace: p.Namespace, Pod: p.Name, Container: c, SinceSeconds: since, TailLines: compareTailLines})
		// A crashed container's last words (panic, OOM, fatal error) are in its previous instance's log.
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name == c && cs.RestartCount > 0 {
				reqs = append(reqs, kube.LogRequest{Namespace: p.Namespace, Pod: p.Name, Container: c, SinceSeconds: since, TailLines: compareTailLines, Previous: true})
			}
		}
	}
	byPod := map[string][]logmine.Record{}
	err := kc.PodLogs(ctx, reqs, logConcurrency, func(r kube.LogResult) {
		if r.Err != nil {
			if !r.Req.Previous { // a previous log that was rotated away is no finding
				notes = append(notes, fmt.Sprintf("%s pod %s: logs unavailable: %v", side, r.Req.Pod, r.Err))
			}
			return
		}
		if r.Truncated {
			notes = append(notes, fmt.Sprintf("%s pod %s: log cut at the byte cap", side, r.Req.Pod))
		}
		recs, err := judge.ParseLogs(bytes.NewReader(r.Data), r.Req.Pod)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s pod %s: %v", side, r.Req.Pod, err))
		}
		if r.Req.Previous {
			byPod[r.Req.Pod] = append(recs, byPod[r.Req.Pod]...)
		} else {
			byPod[r.Req.Pod] = append(byPod[r.Req.Pod], recs...)
		}
	})
	if err != nil {
		notes = append(notes, fmt.Sprintf("%s logs: %v", side, err))
	}
	var all []logmine.Record
	for _, n := range names { // pod order, for reproducible template IDs
		all = append(all, byPod[n]...)
	}
	return all, names, notes
}

// canaryMetricDefs are judged per side over the window. {{sel}} is the pods' label matchers.
// minEffect is the smallest shift that matters to users, in the metric's unit.
var canaryMetricDefs = []struct {
	name, query, direction string
	critical               bool
	minEffect              float64
}{
	{"error_rate", `(sum(rate(http_requests_total{{{sel}},code=~"5.."}[1m])) or vector(0)) / sum(rate(http_requests_total{{{sel}}}[1m]))`, "increase", true, 0.002},
	{"latency_p95_seconds", `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{{{sel}}}[1m])))`, "increase", false, 0.02},
	{"cpu_cores_per_pod", `avg(rate(container_cpu_usage_seconds_total{{{sel}},container!="",container!="POD"}[1m]))`, "increase", false, 0.01},
	{"memory_bytes_per_pod", `avg(container_memory_working_set_bytes{{{sel}},container!="",container!="POD"})`, "increase", false, 8 << 20},
	{"restarts", `sum(kube_pod_container_status_restarts_total{{{sel}}})`, "increase", true, 0},
}

var promNameUnsafe = regexp.MustCompile(`[^a-zA-Z0-9._-]`)

// canaryPodMatcher selects the pods' series by namespace and exact pod names.
func canaryPodMatcher(ns string, pods []corev1.Pod) string {
	names := make([]string, 0, len(pods))
	for _, p := range pods {
		names = append(names, strings.ReplaceAll(regexp.QuoteMeta(promNameUnsafe.ReplaceAllString(p.Name, "")), `\`, `\\`))
	}
	return fmt.Sprintf(`namespace=%q,pod=~"^(%s)$"`, ns, strings.Join(names, "|"))
}

// sideMetrics queries one side's series over the window, plus its request count (exposure).
func sideMetrics(ctx context.Context, d Deps, ns string, pods []corev1.Pod, since int64, side string) ([]judge.Metric, []string) {
	pc, err := d.promClient()
	if err != nil {
		return nil, []string{err.Error()}
	}
	sel := canaryPodMatcher(ns, pods)
	end := time.Now()
	window := time.Duration(since) * time.Second
	step := max(window/30, 5*time.Second)
	rng := v1.Range{Start: end.Add(-window), End: end, Step: step}
	var out []judge.Metric
	var notes []string
	for _, def := range canaryMetricDefs {
		q := strings.ReplaceAll(def.query, "{{sel}}", sel)
		val, _, err := pc.QueryRange(ctx, q, rng)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s metric %s: %v", side, def.name, err))
			continue
		}
		out = append(out, judge.Metric{Name: def.name, Values: matrixValues(val), Direction: def.direction, Critical: def.critical, MinEffect: &def.minEffect})
	}
	q := fmt.Sprintf(`sum(increase(http_requests_total{%s}[%ds]))`, sel, since)
	val, _, err := pc.Query(ctx, q, end)
	if err != nil {
		notes = append(notes, fmt.Sprintf("%s request count: %v", side, err))
	} else if vals := vectorValues(val); len(vals) > 0 {
		out = append(out, judge.Metric{Name: "requests", Values: vals, Kind: "requests"})
	}
	return out, notes
}

// matrixValues flattens a range result (one series after sum/avg); NaN stays NaN for the judge to drop.
func matrixValues(v model.Value) []float64 {
	m, ok := v.(model.Matrix)
	if !ok {
		return nil
	}
	var out []float64
	for _, s := range m {
		for _, p := range s.Values {
			out = append(out, float64(p.Value))
		}
	}
	return out
}

func vectorValues(v model.Value) []float64 {
	vec, ok := v.(model.Vector)
	if !ok {
		return nil
	}
	var out []float64
	for _, s := range vec {
		if f := float64(s.Value); !math.IsNaN(f) {
			out = append(out, f)
		}
	}
	return out
}

func init() {
	Add(Spec{
		Name:  "compare_canary",
		Title: "Judge a canary against stable",
		Description: "Decide whether a canary is healthy: fetches the logs of ALL stable and ALL canary pods (from an Argo Rollout's pod-template hashes, " +
			"or two label selectors) over sinceSeconds, mines them into one template space, and tests new, vanished and more frequent log events " +
			"normalised by traffic (exact rate tests), plus Prometheus metrics (error rate, p95 latency, CPU, memory, restarts: Mann-Whitney U with an " +
			"effect-size gate). Returns {verdict promote|abort|inconclusive, promote, confidence 0-100, analysis, rootCause, remediation, evidence, " +
			"fingerprint}. Missing data gives inconclusive, never promote. Pass ignore (regexes) for intended differences such as a colour change.",
		Toolset:    ToolsetRollouts,
		Idempotent: true,
		Timeout:    3 * time.Minute,
		InputProps: map[string]map[string]any{
			"sinceSeconds": {"minimum": 10, "maximum": 86400, "default": compareDefaultSince},
		},
	}, CompareCanary)
}
