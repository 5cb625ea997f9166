package judge

import (
	"fmt"
	"math"
	"sort"

	"github.com/fixloop/fixloop/internal/judge/stats"
)

// failedRequestsCheck compares the share of requests answered 5xx (critical) and 4xx (warning)
// between sides, counting the records that report an HTTP status (access logs of any server,
// request lines of any framework; see logmine's access facts). Like an error-rate metric: the
// increase must be significant (Fisher's exact test at Alpha), at least MinExcess
// requests beyond expectation, above the relative Tolerance and above failedShareMinEffect.
type failedRequestsCheck struct{}

// failedShareMinEffect is the smallest rise in the failed share that matters (0.2 percentage
// points, as the error_rate metric's minimum effect).
const failedShareMinEffect = 0.002

func (failedRequestsCheck) name() string { return "failed_requests" }

// statusCompared: both sides logged enough requests with their HTTP status to compare shares.
func (a *analysis) statusCompared() bool {
	return a.access[0].withStatus >= a.o.MinRecords && a.access[1].withStatus >= a.o.MinRecords
}

func (failedRequestsCheck) run(a *analysis) []Evidence {
	s, c := a.access[0], a.access[1]
	if !a.statusCompared() {
		return nil // not access logs, or too few requests to compare shares
	}
	var ev []Evidence
	if e, ok := a.compareShare("HTTP 5xx responses", s.failed, c.failed, s.withStatus, c.withStatus, SeverityCritical); ok {
		ev = append(ev, e)
	}
	if e, ok := a.compareShare("HTTP 4xx responses", s.clientErr, c.clientErr, s.withStatus, c.withStatus, SeverityWarning); ok {
		ev = append(ev, e)
	}
	return ev
}

func (a *analysis) compareShare(what string, sCount, cCount, sN, cN int, blockSeverity string) (Evidence, bool) {
	if sCount+cCount == 0 {
		return Evidence{}, false
	}
	pUp := stats.FisherExact(sCount, sN, cCount, cN, stats.Greater)
	pDown := stats.FisherExact(sCount, sN, cCount, cN, stats.Less)
	shareS, shareC := float64(sCount)/float64(sN), float64(cCount)/float64(cN)
	ratio := math.Inf(1)
	if shareS > 0 {
		ratio = shareC / shareS
	}
	expected := float64(sCount) * float64(cN) / float64(sN)
	e := Evidence{
		Kind:     KindFailedRequests,
		Template: what,
		Stable:   &Side{Count: intPtr(sCount), Exposure: finite(float64(sN)), Rate: finite(1000 * shareS)},
		Canary:   &Side{Count: intPtr(cCount), Exposure: finite(float64(cN)), Rate: finite(1000 * shareC)},
		PValue:   finite(pUp),
		Ratio:    finite(ratio),
		Severity: SeverityInfo,
		p:        1,
	}
	shares := fmt.Sprintf("%.1f%% of %d canary requests vs %.1f%% of %d stable", 100*shareC, cN, 100*shareS, sN)
	switch {
	case pUp < a.o.Alpha && float64(cCount)-expected >= a.o.MinExcess &&
		ratio >= 1+a.o.Tolerance && shareC-shareS >= failedShareMinEffect:
		e.Severity, e.p = blockSeverity, pUp
		if blockSeverity == SeverityCritical {
			e.severe, e.class = true, "http_5xx"
		}
		e.Detail = fmt.Sprintf("%s rose: %s (p=%.2g)", what, shares, pUp)
	case pDown < a.o.Alpha:
		e.Detail = fmt.Sprintf("fewer %s in canary: %s", what, shares)
	default:
		e.Detail = fmt.Sprintf("%s at a similar share: %s (p=%.2g)", what, shares, pUp)
	}
	return e, true
}

// logLatencyCheck compares the request durations log lines carry ("duration_ms=", "(2.000000s)",
// "request_time=", "took 12ms"), per event: a template present on both sides, or a changed pair.
// Like a latency metric: a Mann-Whitney shift (Hodges-Lehmann beyond Tolerance of the stable median
// and logLatencyMinEffect), or a heavier tail (more canary requests slower than stable's p95, by
// Fisher's exact test, with a p95 rise beyond the same gates). p-values are Holm-corrected across
// events; a failure is a warning.
type logLatencyCheck struct{}

// logLatencyMinEffect is the smallest duration rise that matters (20 ms, as the latency metric's).
const logLatencyMinEffect = 0.02

// maxLatencySamples bounds the samples per side a test sees (deterministic thinning).
const maxLatencySamples = 1000

func (logLatencyCheck) name() string { return "log_latency" }

type latencyCandidate struct {
	t          *templateStat
	x, y       []float64
	pShift     float64
	pTail      float64
	hl, medS   float64
	p95S, p95C float64
	tailS      int
	tailC      int
}

func (logLatencyCheck) run(a *analysis) []Evidence {
	var cs []*latencyCandidate
	for _, t := range a.templates {
		x, y := t.stable.durs, t.canary.durs
		if t.changed != nil && t.stable.count > 0 {
			y = t.changed.canary.durs
		}
		if len(x) < a.o.MinSamples || len(y) < a.o.MinSamples {
			continue
		}
		cs = append(cs, latencyTests(t, thinSorted(x), thinSorted(y)))
	}
	if len(cs) == 0 {
		return nil
	}
	ps := make([]float64, 0, 2*len(cs))
	for _, c := range cs {
		ps = append(ps, c.pShift, c.pTail)
	}
	adj := stats.Holm(ps)
	alpha := 1 - a.o.MetricConfidence
	var ev []Evidence
	for i, c := range cs {
		var failures []string
		p := 1.0
		if adj[2*i] < alpha && c.hl > a.o.Tolerance*c.medS && c.hl > logLatencyMinEffect {
			failures = append(failures, fmt.Sprintf("durations shifted up by %s s (Hodges-Lehmann; stable median %s s, adjusted p=%.2g)", fmtNum(c.hl), fmtNum(c.medS), adj[2*i]))
			p = adj[2*i]
		}
		rise := c.p95C - c.p95S
		if adj[2*i+1] < alpha && rise > a.o.Tolerance*c.p95S && rise > logLatencyMinEffect &&
			float64(c.tailC)*float64(len(c.x)) >= 2*float64(max(1, c.tailS))*float64(len(c.y)) {
			failures = append(failures, fmt.Sprintf("heavier tail: %d of %d canary requests slower than stable's p95 of %s s (stable %d of %d), canary p95 %s s (adjusted p=%.2g)",
				c.tailC, len(c.y), fmtNum(c.p95S), c.tailS, len(c.x), fmtNum(c.p95C), adj[2*i+1]))
			p = math.Min(p, adj[2*i+1])
		}
		if len(failures) == 0 {
			continue
		}
		ev = append(ev, Evidence{
			Kind: KindLogLatency, Template: a.o.Redactor.String(c.t.pattern), Metric: "duration_seconds",
			Stable: metricSide(c.x), Canary: metricSide(c.y), PValue: finite(p), Ratio: finite(c.hl / math.Max(c.medS, 1e-9)),
			Severity: SeverityWarning, Detail: "slower requests in canary: " + joinSemi(failures), p: p, class: "metric:latency",
			Examples: a.examples(c.t.canary.examples),
		})
	}
	return ev
}

func latencyTests(t *templateStat, x, y []float64) *latencyCandidate {
	c := &latencyCandidate{t: t, x: x, y: y}
	c.pShift = stats.MannWhitney(x, y, stats.Greater).P
	c.hl = stats.HodgesLehmann(x, y)
	c.medS = stats.Median(x)
	c.p95S, c.p95C = stats.Quantile(x, 0.95), stats.Quantile(y, 0.95)
	for _, v := range x {
		if v > c.p95S {
			c.tailS++
		}
	}
	for _, v := range y {
		if v > c.p95S {
			c.tailC++
		}
	}
	c.pTail = stats.FisherExact(c.tailS, len(x), c.tailC, len(y), stats.Greater)
	return c
}

// thinSorted keeps at most maxLatencySamples evenly spaced order statistics: the tests' cost stays
// bounded on busy pods and the distribution's shape is kept.
func thinSorted(xs []float64) []float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) <= maxLatencySamples {
		return s
	}
	out := make([]float64, maxLatencySamples)
	for i := range out {
		out[i] = s[i*len(s)/maxLatencySamples]
	}
	return out
}

func joinSemi(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += "; "
		}
		out += s
	}
	return out
}
