package triage

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/fixloop/fixloop/tools"
)

// metricFindings grades the workload's metrics over the window: pod limits, HTTP errors and latency,
// restarts and memory growth.
func (t *Triage) metricFindings(ctx context.Context, ns, workload, window string, win time.Duration, th Thresholds, res *InvestigateResult) []Finding {
	fs := t.podLimitFindings(ctx, ns, workload, window, th, res)
	agg, err := tools.GetMetrics(ctx, t.cfg.Tools, tools.GetMetricsInput{Namespace: ns, Workload: workload, Window: window,
		Metrics: []string{"request_rate", "rate_5xx", "rate_4xx", "latency_p95", "memory_limit_pct", "memory_bytes", "restarts"}, MaxPoints: 60})
	if err != nil {
		res.couldNotRead("metrics: " + err.Error())
		return fs
	}
	if agg.HTTPSource != "" {
		res.Notes = append(res.Notes, agg.HTTPSource)
	}
	val := map[string]tools.MetricResult{}
	for _, m := range agg.Metrics {
		val[m.Name] = m
		if m.Status == "error" {
			res.couldNotRead(fmt.Sprintf("%s query failed: %s", m.Name, m.Error))
		}
	}
	fs = append(fs, httpFindings(val, window, win, th)...)
	fs = append(fs, restartsInWindow(val["restarts"]))
	if f, ok := memoryGrowth(val, win); ok {
		fs = append(fs, f)
	}
	return fs
}

// podLimitFindings grades CPU and memory against the pods' limits, per pod, so one hot pod is named.
func (t *Triage) podLimitFindings(ctx context.Context, ns, workload, window string, th Thresholds, res *InvestigateResult) []Finding {
	byPod, err := tools.GetMetrics(ctx, t.cfg.Tools, tools.GetMetricsInput{Namespace: ns, Workload: workload, Window: window, ByPod: true,
		Metrics: []string{"cpu_limit_pct", "memory_limit_pct"}, MaxPoints: 60})
	if err != nil {
		res.couldNotRead("per-pod metrics: " + err.Error())
		return nil
	}
	var fs []Finding
	for _, m := range byPod.Metrics {
		warn, crit, label := th.CPUWarn, th.CPUCrit, "cpu_pct_of_limit"
		if m.Name == "memory_limit_pct" {
			warn, crit, label = th.MemWarn, th.MemCrit, "memory_pct_of_limit"
		}
		if m.Status == "error" {
			res.couldNotRead(fmt.Sprintf("%s query failed: %s", m.Name, m.Error))
		}
		if m.Status != "ok" {
			fs = append(fs, Finding{Check: label, Severity: "skipped", Evidence: "no data (" + m.Status + "): limits or cAdvisor series missing"})
			continue
		}
		if f, ok := limitFinding(m, label, warn, crit); ok {
			fs = append(fs, f)
		}
	}
	return fs
}

// limitFinding grades one per-pod limit metric by its maximum (or its average when that is already
// critical); false when it has no samples.
func limitFinding(m tools.MetricResult, label string, warn, crit float64) (Finding, bool) {
	var sum float64
	var n int
	maxV, maxPod := math.Inf(-1), ""
	for _, s := range m.Series {
		for _, p := range s.Points {
			sum += p[1]
			n++
			if p[1] > maxV {
				maxV, maxPod = p[1], s.Labels["pod"]
			}
		}
	}
	if n == 0 {
		return Finding{}, false
	}
	avg := sum / float64(n)
	sev := grade(maxV, warn, crit)
	if g := grade(avg, warn, crit); g == "critical" {
		sev = g
	}
	f := Finding{Check: label, Severity: sev, Value: fmt.Sprintf("avg %.1f%%, max %.1f%%", avg, maxV),
		Threshold: fmt.Sprintf("warn %.0f%% / critical %.0f%%", warn, crit)}
	if sev != "ok" {
		f.Pods = []string{maxPod}
	}
	return f, true
}

// memoryGrowth looks for a leak: memory rising steadily. With a limit, project when it is reached.
// False when neither memory series is usable.
func memoryGrowth(val map[string]tools.MetricResult, win time.Duration) (Finding, bool) {
	span := seriesSpan(val["memory_limit_pct"])
	if span == 0 {
		span = seriesSpan(val["memory_bytes"])
	}
	minSpan := min(win/2, 10*time.Minute)
	if span < minSpan {
		return Finding{Check: "memory_growth", Severity: "skipped", Evidence: fmt.Sprintf("only %s of memory samples; a trend needs %s", span.Round(time.Second), minSpan)}, true
	}
	if m := val["memory_limit_pct"]; m.Status == "ok" && m.Slope != nil && m.Last != nil {
		slope := *m.Slope
		grown := slope * span.Minutes()
		f := Finding{Check: "memory_growth", Severity: "ok", Value: fmt.Sprintf("%+.2f%% of limit per minute (%+.1f%% over %s)", slope, grown, span.Round(time.Second))}
		// A process warming up also grows for a while: only growth worth minLeakGrowth points of the
		// limit within the window is projected.
		if slope > 0.05 && grown >= minLeakGrowth {
			minutes := (100 - *m.Last) / slope
			f.Evidence = fmt.Sprintf("at this rate the limit is reached in %.0f minutes", minutes)
			switch {
			case minutes < 60:
				f.Severity = "critical"
			case minutes < 24*60:
				f.Severity = "warning"
			}
		}
		return f, true
	}
	if m := val["memory_bytes"]; m.Status == "ok" && m.Slope != nil {
		mbPerMin := *m.Slope / (1 << 20)
		f := Finding{Check: "memory_growth", Severity: "ok", Value: fmt.Sprintf("%+.2f MiB per minute", mbPerMin), Evidence: "no memory limit: leak judged on absolute growth"}
		if mbPerMin > 1 {
			f.Severity = "warning"
		}
		return f, true
	}
	return Finding{}, false
}

// httpFindings grades error rates and latency by their median over the window: a check must be over its
// threshold for at least half of the window, so one short spike (noisy, self-healing) is not an
// incident. The average is reported next to it.
func httpFindings(val map[string]tools.MetricResult, window string, win time.Duration, th Thresholds) []Finding {
	req := val["request_rate"]
	requests := 0.0
	if req.Avg != nil {
		requests = *req.Avg * win.Seconds()
	}
	if req.Status != "ok" || req.Avg == nil || requests < th.MinRequests {
		why := fmt.Sprintf("%.0f requests in %s, below the minimum %.0f", requests, window, th.MinRequests)
		if req.Status != "ok" || req.Avg == nil {
			why = strings.TrimSuffix("no request metrics: "+req.Why, ": ")
		}
		var fs []Finding
		for _, c := range []string{"error_rate_5xx", "error_rate_4xx", "latency_p95"} {
			fs = append(fs, Finding{Check: c, Severity: "skipped", Evidence: why})
		}
		return fs
	}
	ratio := func(check, name string, warn, crit float64) Finding {
		med, avg := ratioStats(val[name], req)
		f := Finding{Check: check, Severity: grade(med, warn, crit), Value: fmt.Sprintf("median %.2f%% (average %.2f%%) of %.0f requests", med, avg, requests),
			Threshold: fmt.Sprintf("warn %.0f%% / critical %.0f%% for half the window", warn, crit), Evidence: "measured from " + req.Source + " series"}
		if m := val[name]; m.Status != "ok" && m.Why != "" && m.Source == "" { // e.g. a mesh that classifies failures without 4xx
			f.Severity, f.Value, f.Evidence = "skipped", "", m.Why
		}
		return f
	}
	fs := []Finding{ratio("error_rate_5xx", "rate_5xx", th.Err5xxWarn, th.Err5xxCrit), ratio("error_rate_4xx", "rate_4xx", th.Err4xxWarn, th.Err4xxCrit)}
	lat := val["latency_p95"]
	if lat.Status != "ok" || len(lat.Series) == 0 {
		return append(fs, Finding{Check: "latency_p95", Severity: "skipped", Evidence: strings.TrimSuffix("no latency histogram: "+lat.Why, ": ")})
	}
	vals := pointValues(lat.Series[0].Points)
	med, maxMS := 1000*median(vals), 1000*slices.Max(vals)
	return append(fs, Finding{Check: "latency_p95", Severity: grade(med, th.P95WarnMS, th.P95CritMS), Value: fmt.Sprintf("median %.0f ms, max %.0f ms", med, maxMS),
		Threshold: fmt.Sprintf("warn %.0f ms / critical %.0f ms for half the window", th.P95WarnMS, th.P95CritMS)})
}

// ratioStats is the median and the average of 100*num/den over the samples both series share; a
// missing numerator (no 5xx series at all) is zero.
func ratioStats(num, den tools.MetricResult) (median_, avg float64) {
	if len(den.Series) == 0 {
		return 0, 0
	}
	byT := map[float64]float64{}
	if num.Status == "ok" && len(num.Series) > 0 {
		for _, p := range num.Series[0].Points {
			byT[p[0]] = p[1]
		}
	}
	var rs []float64
	for _, p := range den.Series[0].Points {
		if p[1] > 0 {
			rs = append(rs, 100*byT[p[0]]/p[1])
		}
	}
	if len(rs) == 0 {
		return 0, 0
	}
	sum := 0.0
	for _, r := range rs {
		sum += r
	}
	return median(rs), sum / float64(len(rs))
}

func pointValues(ps [][2]float64) []float64 {
	out := make([]float64, 0, len(ps))
	for _, p := range ps {
		out = append(out, p[1])
	}
	if len(out) == 0 {
		out = append(out, 0)
	}
	return out
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// restartsInWindow counts container restarts during the window (the growth of the restart counter), so
// a restart last week is not today's incident and a crash loop shows while it happens.
func restartsInWindow(m tools.MetricResult) Finding {
	f := Finding{Check: "restarts_in_window", Threshold: "warn 1 / critical 3"}
	if m.Status != "ok" || len(m.Series) == 0 || len(m.Series[0].Points) == 0 {
		f.Severity, f.Evidence = "skipped", "no restart counter (kube-state-metrics) in Prometheus"
		return f
	}
	ps := m.Series[0].Points
	n := 0.0
	for i := 1; i < len(ps); i++ {
		if d := ps[i][1] - ps[i-1][1]; d > 0 { // a drop is a pod replaced, not negative restarts
			n += d
		}
	}
	f.Value, f.Severity = fmt.Sprintf("%.0f restarts", n), grade(n, 1, 3)
	return f
}

// minLeakGrowth is how much of its memory limit (percentage points) a workload must gain within the
// window before its slope counts as a leak.
const minLeakGrowth = 5.0

// seriesSpan is the time covered by a metric's (first) series.
func seriesSpan(m tools.MetricResult) time.Duration {
	if len(m.Series) == 0 || len(m.Series[0].Points) < 2 {
		return 0
	}
	p := m.Series[0].Points
	return time.Duration((p[len(p)-1][0] - p[0][0]) * float64(time.Second))
}
