package judge

import (
	"fmt"
	"math"
	"strings"
)

// decide turns evidence into the verdict: any critical or warning evidence aborts; otherwise
// insufficient data is inconclusive; otherwise the canary is promoted.
func decide(a *analysis, ev []Evidence) *Verdict {
	var crit, warn, insuf []Evidence
	for _, e := range ev {
		switch e.Severity {
		case SeverityCritical:
			crit = append(crit, e)
		case SeverityWarning:
			warn = append(warn, e)
		case SeverityInsufficient:
			insuf = append(insuf, e)
		}
	}
	if ev == nil {
		ev = []Evidence{}
	}
	v := &Verdict{Evidence: ev, Summary: Summary{
		StableRecords: len(a.in.Stable), CanaryRecords: len(a.in.Canary),
		ExposureKind: a.exposureKind, StableExposure: a.stableExposure, CanaryExposure: a.canaryExposure,
		Templates: len(a.templates), Metrics: len(a.metrics),
		StableStatusRecords: a.access[0].withStatus, CanaryStatusRecords: a.access[1].withStatus,
		RequestStatusCompared: a.statusCompared(),
	}}
	switch {
	case len(crit)+len(warn) > 0:
		v.Verdict = Abort
	case len(insuf) > 0:
		v.Verdict = Inconclusive
	default:
		v.Verdict = Promote
		v.Promote = true
	}
	v.Confidence = confidence(a, v.Verdict, crit, warn, ev)
	explain(a, v, crit, warn, insuf)
	if v.Verdict != Promote {
		v.Fingerprint = Fingerprint(a.in.Namespace, a.in.Rollout, ev)
	}
	return v
}

// confidence is 0-100:
//
//   - abort: 100 x (1 - p) of the strongest blocking evidence (its p-value: for a new severe
//     template the chance that all its events fell in canary by luck), clamped to [60, 99] for
//     critical evidence and [55, 85] when only warnings block;
//   - promote: 50 + 45 x coverage, where coverage = the product of log coverage
//     (min(1, canary exposure / (10 x minimum))) and metric coverage (share of metrics with
//     enough samples), each 1 when that kind of data was not given; minus 3 per unexplained new
//     non-severe template (at most 15); so 50-95;
//   - inconclusive: 40 x coverage (0-40): how close the data came to being enough.
func confidence(a *analysis, verdict string, crit, warn, ev []Evidence) int {
	switch verdict {
	case Abort:
		lo, hi, block := 60.0, 99.0, crit
		if len(crit) == 0 {
			lo, hi, block = 55, 85, warn
		}
		p := 1.0
		for _, e := range block {
			p = math.Min(p, e.p)
		}
		return int(math.Round(clamp(100*(1-p), lo, hi)))
	case Promote:
		c := 50 + 45*coverage(a)
		n := 0
		for _, e := range ev {
			if e.Kind == KindNewTemplate && e.Severity == SeverityInfo {
				n++
			}
		}
		c -= math.Min(15, 3*float64(n))
		return int(math.Round(clamp(c, 50, 95)))
	}
	return int(math.Round(40 * coverage(a)))
}

func coverage(a *analysis) float64 {
	logCov, metCov := 1.0, 1.0
	if a.hasLogs() {
		min := float64(a.o.MinRecords)
		if a.exposureKind == "requests" {
			min = a.o.MinRequests
		}
		logCov = math.Min(1, math.Min(a.canaryExposure, a.stableExposure)/(10*min))
	}
	if len(a.metrics) > 0 {
		ok := 0
		for _, p := range a.metrics {
			if len(finiteValues(p.stable)) >= a.o.MinSamples && len(finiteValues(p.canary)) >= a.o.MinSamples {
				ok++
			}
		}
		metCov = float64(ok) / float64(len(a.metrics))
	}
	if !a.hasLogs() && len(a.metrics) == 0 {
		return 0
	}
	return logCov * metCov
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

// explain writes analysis, rootCause and remediation from the evidence.
func explain(a *analysis, v *Verdict, crit, warn, insuf []Evidence) {
	var b strings.Builder
	fmt.Fprintf(&b, "Compared %d stable and %d canary log records", len(a.in.Stable), len(a.in.Canary))
	if a.hasLogs() {
		fmt.Fprintf(&b, " in %d templates (normalised by %s; canary share %.0f%%)", len(a.templates), a.exposureKind, 100*a.canaryShare())
	}
	if len(a.metrics) > 0 {
		fmt.Fprintf(&b, " and %d metrics", len(a.metrics))
	}
	b.WriteString(". ")
	counts := map[string]int{}
	for _, e := range v.Evidence {
		counts[e.Severity]++
	}
	fmt.Fprintf(&b, "Findings: %d critical, %d warning, %d insufficient-data, %d informational, %d ignored.",
		counts[SeverityCritical], counts[SeverityWarning], counts[SeverityInsufficient], counts[SeverityInfo], counts[SeverityIgnored])
	for i, e := range append(append(append([]Evidence{}, crit...), warn...), insuf...) {
		if i == 3 {
			break
		}
		fmt.Fprintf(&b, " %s", describe(e))
	}
	if counts[SeverityIgnored] > 0 {
		b.WriteString(" Differences matching the ignore patterns were treated as intended.")
	}
	v.Analysis = b.String()

	switch v.Verdict {
	case Abort:
		top := warn
		if len(crit) > 0 {
			top = crit
		}
		v.RootCause = rootCause(top[0])
		v.Remediation = remediation(top[0])
	case Inconclusive:
		v.RootCause = "Not enough data to judge: " + insuf[0].Detail + "."
		v.Remediation = "Keep the canary paused and let it receive more traffic (run the analysis longer or raise the canary weight), then judge again; check that canary pods are running and logging."
	default:
		v.RootCause = "No regression found: no new severe log events, no significant rate changes and no failing metrics in canary."
		v.Remediation = "Promote the canary."
	}
}

func describe(e Evidence) string {
	subject := e.Metric
	if e.Template != "" {
		subject = fmt.Sprintf("%q", shorten(e.Template, 160))
	}
	if subject == "" {
		return capitalise(e.Detail) + "."
	}
	return fmt.Sprintf("[%s] %s: %s.", e.Severity, subject, e.Detail)
}

func rootCause(e Evidence) string {
	switch e.Kind {
	case KindMetric:
		return fmt.Sprintf("Canary metric %s regressed: %s.", e.Metric, e.Detail)
	case KindGoneTemplate:
		return fmt.Sprintf("Canary no longer logs a regular event (%q): %s.", shorten(e.Template, 200), e.Detail)
	case KindFailedRequests:
		return fmt.Sprintf("The canary fails more requests than stable (access lines by status): %s.", e.Detail)
	case KindLogLatency:
		return fmt.Sprintf("Canary requests are slower than stable's (durations in the log lines of %q): %s.", shorten(e.Template, 200), e.Detail)
	}
	count := func(s *Side) int {
		if s == nil || s.Count == nil {
			return 0
		}
		return *s.Count
	}
	tmpl := shorten(e.Template, 300)
	switch {
	case e.Kind == KindNewTemplate && e.severe:
		return fmt.Sprintf("The canary logs a new %s event that stable never logs: %q (%d occurrence(s) in canary, 0 in stable).", className(e.class), tmpl, count(e.Canary))
	case e.Kind == KindRateChange && e.severe && e.Ratio != nil:
		return fmt.Sprintf("%s %s event stable also logs is %.1fx as frequent in the canary, normalised by traffic: %q (%d in canary).", article(className(e.class)), className(e.class), *e.Ratio, tmpl, count(e.Canary))
	}
	return fmt.Sprintf("%s: %q.", capitalise(e.Detail), tmpl)
}

func remediation(e Evidence) string {
	const keep = "Abort the rollout to keep stable serving, then "
	switch e.class {
	case "panic":
		return keep + "fix the panic in the code path shown by the goroutine trace (nil or out-of-range access) and add a test for it."
	case "oom":
		return keep + "find the memory growth (leak or unbounded buffer) in the new version, or raise the memory limit if the new footprint is intended."
	case "python_exception", "java_exception", "exception":
		return keep + "fix the exception at the top frame of the stack trace in the new version."
	case "crash":
		return keep + "fix the fatal error the new version hits (see the example log line) before re-deploying."
	case "http_5xx":
		return keep + "fix the server error path the new version takes (see the example requests)."
	}
	if strings.HasPrefix(e.class, "metric:") {
		name := strings.TrimPrefix(e.class, "metric:")
		switch {
		case strings.Contains(name, "latency") || strings.Contains(name, "duration"):
			return keep + "profile the slower code path of the new version (new calls, locks, timeouts) before re-deploying."
		case strings.Contains(name, "error") || strings.Contains(name, "5xx"):
			return keep + "inspect the failing requests of the new version (logs around the errors) and fix the error path."
		case strings.Contains(name, "memory") || strings.Contains(name, "cpu"):
			return keep + "check the resource use of the new version against its limits."
		}
		return keep + "investigate why " + name + " moved in the new version."
	}
	if e.Kind == KindGoneTemplate {
		return "Abort the rollout, then check why the new version stopped logging this event (a broken code path, or a changed log line: if a value in the line changed on purpose, pass a mask pattern for it)."
	}
	return keep + "fix the new error the canary logs (see the examples), or pass an ignore pattern for events that are expected to differ."
}

func shorten(s string, n int) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func article(word string) string {
	if word != "" && strings.ContainsRune("aeiouAEIOU", rune(word[0])) {
		return "An"
	}
	return "A"
}
