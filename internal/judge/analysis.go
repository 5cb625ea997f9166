package judge

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/fixloop/fixloop/internal/logmine"
)

// sideStat is one side's share of a template.
type sideStat struct {
	count    int
	severe   int    // records that logmine.IsSevere
	failed   int    // records reporting an HTTP 5xx status
	level    string // most severe level seen on this side
	examples []string
	durs     []float64 // request durations the records carry, seconds (bounded, see maxDurations)
}

// templateStat is a template of the shared space, split by level bucket, with per-side counts.
type templateStat struct {
	id             int
	level          string // "", "warn" or "error" (error, fatal, panic)
	pattern        string
	stable, canary sideStat
	// changed links a template gone from the canary with the same-shaped new one that replaced it
	// (see changed_templates.go); both then count as one event.
	changed *templateStat
}

// analysis is the shared state every check reads.
type analysis struct {
	in           Input
	o            Options
	ignores      []*regexp.Regexp
	masks        []*regexp.Regexp
	ignoreCounts []ignoreCount
	deadline     time.Time
	stopped      string // why the analysis stopped at its budget; "" when it ran to the end
	access       [2]accessCounts

	templates                      []*templateStat // by ID
	exposureKind                   string          // requests | records
	stableExposure, canaryExposure float64
	metrics                        []metricPair
	unmeasured                     []string // metrics with no sample on either side (see pairMetrics)
	trafficMetrics                 []string
}

type metricPair struct {
	name           string
	stable, canary *Metric // either may be nil
}

func levelBucket(level string) string {
	switch level {
	case "warn":
		return "warn"
	case "error", "fatal", "panic":
		return "error"
	}
	return ""
}

// maxExampleBytes bounds one example in evidence: a trace's head says what failed.
const maxExampleBytes = 1200

var levelOrder = map[string]int{"trace": 1, "debug": 2, "info": 3, "warn": 4, "error": 5, "fatal": 6, "panic": 7}

// accessCounts are one side's records that report an HTTP status.
type accessCounts struct{ withStatus, failed, clientErr int }

// maxDurations bounds the durations kept per template and side: the tests thin longer series anyway.
const maxDurations = 20000

func newAnalysis(in Input, o Options, ignores, masks []*regexp.Regexp, deadline time.Time) *analysis {
	a := &analysis{in: in, o: o, ignores: ignores, masks: masks, deadline: deadline}
	for _, src := range patternSources(ignores) {
		a.ignoreCounts = append(a.ignoreCounts, ignoreCount{pattern: src})
	}
	a.in.Stable = maskRecords(dropIgnored(a.in.Stable, ignores, a.ignoreCounts, false), masks)
	a.in.Canary = maskRecords(dropIgnored(a.in.Canary, ignores, a.ignoreCounts, true), masks)
	// Redact before mining: templates, root causes and titles are built from these texts.
	a.in.Stable, a.in.Canary = redactRecords(a.in.Stable, o.Redactor), redactRecords(a.in.Canary, o.Redactor)
	a.mine()
	a.pairMetrics()
	a.exposure()
	if a.stopped == "" {
		a.pairChanged()
	}
	return a
}

// isFailure: an error-level or severe record, or one reporting an HTTP 5xx status (an access line
// is a failed request even when no error word appears).
func isFailure(r logmine.Record) bool { return r.Status >= 500 || logmine.IsSevere(r) }

// recordBucket is the level bucket a record is counted in: a 5xx status is an error whatever the
// logger's level said.
func recordBucket(r logmine.Record) string {
	if r.Status >= 500 {
		return "error"
	}
	return levelBucket(r.Level)
}

// overBudget reports (every few hundred calls) whether the time budget is spent.
func (a *analysis) overBudget(i int) bool {
	return i%256 == 0 && !a.deadline.IsZero() && time.Now().After(a.deadline)
}

// mine puts both sides through ONE miner so a template ID means the same event on both sides.
func (a *analysis) mine() {
	m := logmine.NewMiner(logmine.DefaultConfig())
	type key struct {
		id    int
		level string
	}
	byKey := map[key]*templateStat{}
	add := func(r logmine.Record, canary bool) {
		t := m.Add(r)
		// The same message at a different level is a different event here: a request line
		// logged at warn or error (4xx/5xx) must not hide among the same line at info.
		k := key{t.ID, recordBucket(r)}
		ts := byKey[k]
		if ts == nil {
			ts = &templateStat{id: t.ID, level: k.level}
			byKey[k] = ts
		}
		s := &ts.stable
		if canary {
			s = &ts.canary
		}
		a.countRecord(s, r)
	}
	// A first pass feeds the miner's column statistics so early records group like later ones.
	sides := [2][]logmine.Record{a.in.Stable, a.in.Canary}
	n := 0
	for _, rs := range sides {
		for _, r := range rs {
			if n++; a.overBudget(n) {
				a.stopAtBudget(n)
				return
			}
			m.Observe(r)
		}
	}
	for side, rs := range sides {
		for _, r := range rs {
			if n++; a.overBudget(n) {
				a.stopAtBudget(n)
				return
			}
			add(r, side == 1)
			a.countAccess(side, r)
		}
	}
	for _, ts := range byKey {
		ts.pattern = m.Template(ts.id).Pattern
		if ts.level != "" {
			ts.pattern = "[" + ts.level + "] " + ts.pattern
		}
		a.templates = append(a.templates, ts)
	}
	sort.Slice(a.templates, func(i, j int) bool {
		if a.templates[i].id != a.templates[j].id {
			return a.templates[i].id < a.templates[j].id
		}
		return a.templates[i].level < a.templates[j].level
	})
}

func (a *analysis) countRecord(s *sideStat, r logmine.Record) {
	s.count++
	if logmine.IsSevere(r) {
		s.severe++
	}
	if r.Status >= 500 {
		s.failed++
	}
	if r.HasDuration && len(s.durs) < maxDurations {
		s.durs = append(s.durs, r.Duration)
	}
	if levelOrder[r.Level] > levelOrder[s.level] {
		s.level = r.Level
	}
	if len(s.examples) < a.o.MaxExamples {
		ex := r.Text
		if len(ex) > maxExampleBytes {
			ex = clip(ex, maxExampleBytes)
		}
		if !containsString(s.examples, ex) {
			s.examples = append(s.examples, ex)
		}
	}
}

func (a *analysis) countAccess(side int, r logmine.Record) {
	if r.Status == 0 {
		return
	}
	c := &a.access[side]
	c.withStatus++
	switch {
	case r.Status >= 500:
		c.failed++
	case r.Status >= 400:
		c.clientErr++
	}
}

// stopAtBudget records why the analysis stopped early; the verdict becomes inconclusive.
func (a *analysis) stopAtBudget(done int) {
	total := 2 * (len(a.in.Stable) + len(a.in.Canary))
	a.stopped = fmt.Sprintf("the analysis stopped at its time budget of %s after %d%% of the mining work (%d stable and %d canary records); judge a shorter window or fewer pods",
		a.o.Budget, 100*done/max(1, total), len(a.in.Stable), len(a.in.Canary))
	a.templates = nil
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// trafficNames are metric names read as request volume (exposure), not judged: the canary's
// share of traffic differs from stable's by design.
var trafficNames = map[string]bool{
	"requests": true, "request_count": true, "requests_total": true, "http_requests_total": true,
	"http_requests": true, "rps": true, "request_rate": true, "throughput": true, "qps": true,
}

// IsTrafficMetric reports whether a metric is read as request volume rather than judged.
func IsTrafficMetric(m Metric) bool {
	return strings.EqualFold(m.Kind, "requests") || trafficNames[strings.ToLower(m.Name)]
}

func (a *analysis) pairMetrics() {
	idx := map[string]int{}
	get := func(name string) *metricPair {
		i, ok := idx[name]
		if !ok {
			i = len(a.metrics)
			idx[name] = i
			a.metrics = append(a.metrics, metricPair{name: name})
		}
		return &a.metrics[i]
	}
	for i := range a.in.StableMetrics {
		m := &a.in.StableMetrics[i]
		get(m.Name).stable = m
	}
	for i := range a.in.CanaryMetrics {
		m := &a.in.CanaryMetrics[i]
		get(m.Name).canary = m
	}
	// Traffic series become exposure.
	kept := a.metrics[:0]
	for _, p := range a.metrics {
		if (p.stable != nil && IsTrafficMetric(*p.stable)) || (p.canary != nil && IsTrafficMetric(*p.canary)) {
			a.trafficMetrics = append(a.trafficMetrics, p.name)
			if a.in.StableRequests == 0 && p.stable != nil {
				a.in.StableRequests = sumFinite(p.stable.Values)
			}
			if a.in.CanaryRequests == 0 && p.canary != nil {
				a.in.CanaryRequests = sumFinite(p.canary.Values)
			}
			continue
		}
		// A series neither side has is not measured for this workload (an app that exports no HTTP
		// metrics): nothing to compare, so it is reported, not counted as the canary's missing data.
		if len(finiteValues(p.stable)) == 0 && len(finiteValues(p.canary)) == 0 {
			a.unmeasured = append(a.unmeasured, p.name)
			continue
		}
		kept = append(kept, p)
	}
	a.metrics = kept
}

func sumFinite(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) && x > 0 {
			s += x
		}
	}
	return s
}

// exposure is the traffic each side saw: request counts when known, else record counts.
func (a *analysis) exposure() {
	if a.in.StableRequests > 0 && a.in.CanaryRequests > 0 {
		a.exposureKind = "requests"
		a.stableExposure, a.canaryExposure = a.in.StableRequests, a.in.CanaryRequests
		return
	}
	a.exposureKind = "records"
	a.stableExposure, a.canaryExposure = float64(len(a.in.Stable)), float64(len(a.in.Canary))
}

func (a *analysis) hasLogs() bool { return len(a.in.Stable)+len(a.in.Canary) > 0 }

// canaryShare is the canary's fraction of the combined exposure.
func (a *analysis) canaryShare() float64 {
	t := a.stableExposure + a.canaryExposure
	if t <= 0 {
		return 0
	}
	return a.canaryExposure / t
}

// redactAll redacts and bounds examples for output.
func (a *analysis) examples(ss []string) []string {
	var out []string
	for _, s := range ss {
		if len(out) == a.o.MaxExamples {
			break
		}
		out = append(out, a.o.Redactor.String(s))
	}
	return out
}

// templateSide builds the evidence view of one side of a template.
func (a *analysis) templateSide(s sideStat, exposure float64) *Side {
	c := s.count
	side := &Side{Count: &c, Exposure: finite(exposure), Level: s.level}
	if exposure > 0 {
		side.Rate = finite(1000 * float64(s.count) / exposure)
	}
	return side
}

// finite returns a pointer to x rounded to 6 significant digits, or nil when x is not finite
// (JSON has no NaN or Inf).
func finite(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	r := roundSig(x, 6)
	return &r
}

func roundSig(x float64, digits int) float64 {
	if x == 0 {
		return 0
	}
	p := math.Pow(10, float64(digits)-math.Ceil(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}

func intPtr(n int) *int { return &n }

// classify names the failure class of a template from its text, for explanations.
func classify(texts ...string) string {
	t := strings.ToLower(strings.Join(texts, "\n"))
	switch {
	case strings.Contains(t, "outofmemory") || strings.Contains(t, "out of memory") || strings.Contains(t, "oomkill") || strings.Contains(t, "oom-kill") || strings.Contains(t, "memoryerror"):
		return "oom"
	case strings.Contains(t, "panic:") || strings.Contains(t, "panic serving") || strings.Contains(t, "goroutine "):
		return "panic"
	case strings.Contains(t, "traceback (most recent call last)"):
		return "python_exception"
	case strings.Contains(t, "exception in thread") || strings.Contains(t, "\tat ") || strings.Contains(t, "caused by:"):
		return "java_exception"
	case strings.Contains(t, "\n    at ") || strings.Contains(t, "\n   at ") || strings.Contains(t, "exception:") || strings.Contains(t, "error:\n"):
		return "exception" // Node, .NET and other runtimes' stack traces
	case strings.Contains(t, "fatal") || strings.Contains(t, "segmentation fault") || strings.Contains(t, "sigsegv") || strings.Contains(t, "core dumped"):
		return "crash"
	case strings.Contains(t, " 5xx") || strings.Contains(t, "status=5") || strings.Contains(t, "status 5") || strings.Contains(t, " 500 ") || strings.Contains(t, " 503 ") || strings.Contains(t, " 502 "):
		return "http_5xx"
	}
	return "error"
}
