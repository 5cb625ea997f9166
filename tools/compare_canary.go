package tools

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/logmine"
	"github.com/fixloop/fixloop/internal/prom"
	"github.com/fixloop/fixloop/internal/report"
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

// JudgeVerdict is judge.Verdict under a name that does not collide with its own Verdict field when
// embedded (schema generators and readers then see verdict, promote, ... at the top level).
type JudgeVerdict = judge.Verdict

// CompareCanaryOutput is the judge's verdict itself (judge.Verdict, flattened) plus which pods, revisions
// and selectors it rests on. Every entry point (this tool, the triage agent, the Argo routes) renders it.
type CompareCanaryOutput struct {
	JudgeVerdict
	StablePods []string  `json:"stablePods"`
	CanaryPods []string  `json:"canaryPods"`
	StableHash string    `json:"stableHash,omitempty" jsonschema:"pod-template hash of the stable revision (with rollout)"`
	CanaryHash string    `json:"canaryHash,omitempty" jsonschema:"pod-template hash of the canary revision (with rollout)"`
	Selectors  [2]string `json:"selectors" jsonschema:"stable and canary label selectors used"`
	Notes      []string  `json:"notes,omitempty" jsonschema:"what was skipped or failed while gathering data"`
	Report     string    `json:"report,omitempty" jsonschema:"URL of this verdict's page (fixloop serve /reports/{id}): verdict, stable vs canary charts, template diff, links"`
}

const (
	compareDefaultSince = 600
	compareTailLines    = 50000
	// compareLogBudget is the byte budget per container log: the newest lines within it are kept.
	compareLogBudget = 4 << 20
)

// CompareCanary is THE canary analysis: it fetches the logs of ALL stable and canary pods (and their
// Prometheus metrics when configured), runs the canary judge and returns its verdict. The MCP tool, the
// triage agent's analyze_canary and the Argo routes all call it.
func CompareCanary(ctx context.Context, d Deps, in CompareCanaryInput) (*CompareCanaryOutput, error) {
	ctx, done := observeAnalysis(ctx, in)
	out, err := compareCanary(ctx, d, in)
	done(out, err)
	return out, err
}

func compareCanary(ctx context.Context, d Deps, in CompareCanaryInput) (*CompareCanaryOutput, error) {
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
	out := &CompareCanaryOutput{StablePods: []string{}, CanaryPods: []string{}}
	if err := resolveSides(ctx, kc, in, out); err != nil {
		return nil, err
	}
	stablePods, err := listStartedPods(ctx, kc, in.Namespace, out.Selectors[0])
	if err != nil {
		return nil, err
	}
	canaryPods, err := listStartedPods(ctx, kc, in.Namespace, out.Selectors[1])
	if err != nil {
		return nil, err
	}
	var jin judge.Input
	var stableDropped, canaryDropped int
	Progress(ctx, 1, 4, fmt.Sprintf("reading logs of %d stable and %d canary pods", len(stablePods), len(canaryPods)))
	// Prometheus is queried while the logs are read: the two wait on different servers.
	metricsDone := startCanaryMetrics(ctx, d, in, stablePods, canaryPods)
	// Both sides at once: the time is the log transfer and its parsing, not the CPU of this process alone.
	var stableNotes, canaryNotes []string
	var sides sync.WaitGroup
	sides.Go(func() {
		jin.Stable, out.StablePods, stableDropped, stableNotes = fetchSideLogs(ctx, kc, stablePods, in.SinceSeconds, "stable")
	})
	jin.Canary, out.CanaryPods, canaryDropped, canaryNotes = fetchSideLogs(ctx, kc, canaryPods, in.SinceSeconds, "canary")
	sides.Wait()
	out.Notes = append(append(out.Notes, stableNotes...), canaryNotes...)
	if len(canaryPods) == 0 {
		out.Notes = append(out.Notes, "no started pods match the canary selector "+out.Selectors[1])
	}
	if len(stablePods) == 0 {
		out.Notes = append(out.Notes, "no started pods match the stable selector "+out.Selectors[0])
	}
	Progress(ctx, 2, 4, "logs read")
	sources, metricNotes := metricsDone(&jin)
	out.Notes = append(out.Notes, metricNotes...)

	jin.Ignore, jin.Mask, jin.ExtraPrompt, jin.Rollout, jin.Namespace = in.Ignore, in.Mask, in.ExtraPrompt, in.Rollout, in.Namespace
	opts := judge.Options{Redactor: d.redactor(), LLM: d.LLM}
	Progress(ctx, 3, 4, fmt.Sprintf("judging %d stable and %d canary log records", len(jin.Stable), len(jin.Canary)))
	v, err := judge.Judge(ctx, jin, opts)
	if err != nil {
		return nil, err
	}
	out.JudgeVerdict = *v
	sources.judgeWith(out)
	Progress(ctx, 4, 4, "verdict: "+string(v.Verdict))
	out.Summary.StableLinesDropped, out.Summary.CanaryLinesDropped = stableDropped, canaryDropped
	for i, n := range out.Notes {
		out.Notes[i] = d.redact(n)
	}
	out.Report = saveReport(ctx, d, *v, jin, out.Notes)
	return out, nil
}

// saveReport keeps the verdict's page and returns its URL ("" when reports are not kept here, e.g.
// `fixloop mcp` without a state store). A failure to save loses the page, never the verdict.
func saveReport(ctx context.Context, d Deps, v judge.Verdict, in judge.Input, notes []string) string {
	if d.Reports == nil || d.Reports.KV == nil {
		return ""
	}
	r := report.New(v, in)
	r.Notes = notes
	url, err := d.Reports.Save(ctx, &r)
	if err != nil && d.Logger != nil {
		d.Logger.Warn("verdict report not saved", "err", err)
	}
	return url
}

// resolveSides fills the selectors (and, with a rollout, the revisions) of both sides. Given selectors
// win over the rollout's.
func resolveSides(ctx context.Context, kc kube.Client, in CompareCanaryInput, out *CompareCanaryOutput) error {
	stableSel, canarySel := in.StableSelector, in.CanarySelector
	if in.Rollout != "" && (stableSel == "" || canarySel == "") {
		ro, err := kc.GetRollout(ctx, in.Namespace, in.Rollout)
		if err != nil {
			return err
		}
		if ro.Selector == "" || ro.StableHash == "" {
			return fmt.Errorf("rollout %s/%s has no status.selector or stableRS yet: is the Argo Rollouts controller running?", in.Namespace, in.Rollout)
		}
		if !ro.CanaryInFlight() && canarySel == "" {
			return fmt.Errorf("rollout %s/%s has no canary in flight: its current revision %s is the stable one", in.Namespace, in.Rollout, ro.CurrentHash)
		}
		out.StableHash, out.CanaryHash = ro.StableHash, ro.CanaryHash
		if stableSel == "" {
			stableSel = ro.PodSelector(ro.StableHash)
		}
		if canarySel == "" {
			canarySel = ro.PodSelector(ro.CanaryHash)
		}
	}
	if stableSel == "" || canarySel == "" {
		return fmt.Errorf("give rollout, or both stableSelector and canarySelector")
	}
	for _, s := range []string{stableSel, canarySel} {
		if _, err := labels.Parse(s); err != nil {
			return fmt.Errorf("label selector %q: %w", s, err)
		}
	}
	out.Selectors = [2]string{stableSel, canarySel}
	return nil
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

// fetchSideLogs reads every pod's log (and its previous container's, where one restarted) and parses
// each separately, so a trace never joins across pods. It returns the records, the pod names and how
// many older lines the byte budget dropped.
func fetchSideLogs(ctx context.Context, kc kube.Client, pods []corev1.Pod, since int64, side string) ([]logmine.Record, []string, int, []string) {
	names := []string{}
	var notes []string
	if len(pods) == 0 {
		return nil, names, 0, notes
	}
	reqs := make([]kube.LogRequest, 0, len(pods))
	for _, p := range pods {
		names = append(names, p.Name)
		c := pickContainer(p, "")
		req := kube.LogRequest{Namespace: p.Namespace, Pod: p.Name, Container: c, SinceSeconds: since, TailLines: compareTailLines, MaxRead: compareLogBudget}
		reqs = append(reqs, req)
		// A crashed container's last words (panic, OOM, fatal error) are in its previous instance's log.
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name == c && cs.RestartCount > 0 {
				req.Previous = true
				reqs = append(reqs, req)
			}
		}
	}
	// Each log is parsed as soon as it arrives, on up to one goroutine per CPU, while the others are still
	// being read (PodLogs calls back one result at a time); the results are then taken in arrival order.
	type fetched struct {
		r           kube.LogResult
		unavailable bool
		recs        []logmine.Record
		err         error
	}
	var got []*fetched
	var parse errgroup.Group
	parse.SetLimit(runtime.GOMAXPROCS(0))
	err := kc.PodLogs(ctx, reqs, logConcurrency, func(r kube.LogResult) {
		f := &fetched{r: r, unavailable: r.Err != nil && len(r.Data) == 0}
		got = append(got, f)
		if f.unavailable {
			return
		}
		parse.Go(func() error {
			f.recs, f.err = judge.ParseLogs(bytes.NewReader(f.r.Data), f.r.Req.Pod)
			f.r.Data = nil // the records hold their own copies
			return nil
		})
	})
	_ = parse.Wait() // parse errors are reported per log below
	byPod := map[string][]logmine.Record{}
	dropped := 0
	for _, f := range got {
		r := f.r
		if f.unavailable {
			if !r.Req.Previous { // a previous log that was rotated away is no finding
				notes = append(notes, fmt.Sprintf("%s pod %s: logs unavailable: %v", side, r.Req.Pod, r.Err))
			}
			continue
		}
		if r.DroppedLines > 0 {
			dropped += r.DroppedLines
			notes = append(notes, fmt.Sprintf("%s pod %s: %d older log lines dropped to keep the newest %d MiB", side, r.Req.Pod, r.DroppedLines, compareLogBudget>>20))
		}
		if f.err != nil {
			notes = append(notes, fmt.Sprintf("%s pod %s: %v", side, r.Req.Pod, f.err))
		}
		if r.Req.Previous {
			byPod[r.Req.Pod] = append(f.recs, byPod[r.Req.Pod]...)
		} else {
			byPod[r.Req.Pod] = append(byPod[r.Req.Pod], f.recs...)
		}
	}
	if err != nil {
		notes = append(notes, fmt.Sprintf("%s logs: %v", side, err))
	}
	var all []logmine.Record
	for _, n := range names { // pod order, for reproducible template IDs
		all = append(all, byPod[n]...)
	}
	return all, names, dropped, notes
}

// startCanaryMetrics queries both sides' metrics in the background; the function it returns waits for
// them, stores them in jin and returns the sources used and what was skipped or failed.
func startCanaryMetrics(ctx context.Context, d Deps, in CompareCanaryInput, stablePods, canaryPods []corev1.Pod) func(jin *judge.Input) (*metricSources, []string) {
	switch {
	case in.SkipMetrics:
		return func(*judge.Input) (*metricSources, []string) { return nil, nil }
	case d.Prom == nil:
		return func(*judge.Input) (*metricSources, []string) {
			return nil, []string{"metrics skipped: no Prometheus configured (set FIXLOOP_PROMETHEUS_URL)"}
		}
	case len(stablePods) == 0 || len(canaryPods) == 0:
		return func(*judge.Input) (*metricSources, []string) { return nil, nil }
	}
	var sources *metricSources
	var notes, stableNotes, canaryNotes []string
	var stable, canary []judge.Metric
	var stableReq, canaryReq float64
	var wg sync.WaitGroup
	wg.Go(func() {
		sources, notes = discoverCanarySources(ctx, d, in.Namespace, in.Rollout, stablePods, canaryPods)
		var side sync.WaitGroup
		side.Go(func() {
			stable, stableReq, stableNotes = sideMetrics(ctx, d, in.Namespace, stablePods, in.SinceSeconds, 0, sources)
		})
		canary, canaryReq, canaryNotes = sideMetrics(ctx, d, in.Namespace, canaryPods, in.SinceSeconds, 1, sources)
		side.Wait()
	})
	return func(jin *judge.Input) (*metricSources, []string) {
		wg.Wait()
		jin.StableMetrics, jin.StableRequests, jin.CanaryMetrics, jin.CanaryRequests = stable, stableReq, canary, canaryReq
		return sources, append(append(notes, stableNotes...), canaryNotes...)
	}
}

// canaryMetrics is THE table of metrics a canary is judged on: get_metrics series by name (so config
// prometheus.promql overrides apply), read per pod and pooled over the window. minEffect is the smallest
// shift that matters to users, in the metric's unit.
var canaryMetrics = []struct {
	name, direction string
	critical        bool
	minEffect       float64
}{
	{"error_ratio", "increase", true, 0.002},
	{"latency_p95", "increase", false, 0.02},
	{"cpu_cores", "increase", false, 0.01},
	{"memory_bytes", "increase", false, 8 << 20},
	{"restarts", "increase", true, 0},
}

// podLevelMetrics exist for every pod, serving or not (the judge does not let them alone pass a canary).
var podLevelMetrics = map[string]bool{"cpu_cores": true, "memory_bytes": true, "restarts": true}

// sideMetrics queries one side's (0 stable, 1 canary) judged series over the window (one sample per pod
// and step, 5 s apart at most so a young canary has enough), plus its request count in the window (the
// exposure). The HTTP series come from the discovered source, as get_metrics' do.
func sideMetrics(ctx context.Context, d Deps, ns string, pods []corev1.Pod, since int64, side int, sources *metricSources) ([]judge.Metric, float64, []string) {
	name := [2]string{"stable", "canary"}[side]
	pc, err := d.promClient()
	if err != nil {
		return nil, 0, []string{err.Error()}
	}
	names := make([]string, 0, len(canaryMetrics))
	for _, m := range canaryMetrics {
		names = append(names, m.name)
	}
	defs, err := metricDefsNamed(names)
	if err != nil {
		return nil, 0, []string{err.Error()}
	}
	defs = sources.withSource(append(defs, metricDef{name: "requests"}), side)
	window := time.Duration(since) * time.Second
	const points = 120
	step := max(window/points, 5*time.Second)
	end := time.Now()
	rng := v1.Range{Start: end.Add(-window), End: end, Step: step}
	rateWin := model.Duration(max(2*step, time.Minute)).String()
	sel, err := prom.Side{Namespace: ns, Pods: podNames(pods)}.PodMatchers()
	if err != nil {
		return nil, 0, []string{fmt.Sprintf("%s metrics: %v", name, err)}
	}
	results := rangeMetrics(ctx, d, pc, defs[:len(canaryMetrics)], sel, rateWin, rng, points, true)
	var out []judge.Metric
	var notes []string
	for i, r := range results {
		if r.Status == "error" {
			notes = append(notes, fmt.Sprintf("%s metric %s: %s", name, r.Name, r.Error))
			continue
		}
		def := canaryMetrics[i]
		var vals []float64
		for _, s := range r.Series {
			for _, p := range s.Points {
				vals = append(vals, p[1])
			}
		}
		m := judge.Metric{Name: def.name, Values: vals, Direction: def.direction, Critical: def.critical, MinEffect: &def.minEffect}
		if podLevelMetrics[def.name] {
			m.Kind = "pod"
		}
		out = append(out, m)
	}
	requests, err := windowRequests(ctx, d, pc, defs[len(canaryMetrics)], sel, window, end)
	if err != nil {
		notes = append(notes, fmt.Sprintf("%s request count: %v", name, err))
	}
	return out, requests, notes
}

// windowRequests counts the requests in the window, the exposure log counts are normalised by (config
// prometheus.promql.requests overrides the discovered source's; {{sel}} and {{window}} as elsewhere).
// Without either it is 0: the judge then normalises by log volume.
func windowRequests(ctx context.Context, d Deps, pc prom.Client, def metricDef, sel string, window time.Duration, end time.Time) (float64, error) {
	tmpl := def.query
	if o := d.PromQL["requests"]; o != "" {
		tmpl = o
	}
	if tmpl == "" {
		return 0, nil
	}
	val, _, err := pc.Query(ctx, RenderPromQL(tmpl, sel, model.Duration(window).String(), false), end)
	if err != nil {
		return 0, err
	}
	requests := 0.0
	for _, v := range vectorValues(val) {
		requests += v
	}
	return requests, nil
}

func vectorValues(v model.Value) []float64 {
	vec, ok := v.(model.Vector)
	if !ok {
		return nil
	}
	var out []float64
	for _, s := range vec {
		if f := float64(s.Value); !math.IsNaN(f) && !math.IsInf(f, 0) {
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
