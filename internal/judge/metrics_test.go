package judge

import (
	"math"
	"math/rand/v2"
	"testing"
)

func series(seed uint64, n int, mu, sd float64) []float64 {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]float64, n)
	for i := range out {
		out[i] = mu + sd*r.NormFloat64()
	}
	return out
}

func clip1(xs []float64) []float64 {
	for i, v := range xs {
		xs[i] = math.Min(1, v)
	}
	return xs
}

func TestMetrics(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name         string
		stable       []float64
		canary       []float64
		direction    string
		critical     bool
		tolerance    *float64
		wantSeverity string
		wantVerdict  string
	}{
		{"latency up, critical", series(1, 30, 100, 10), series(2, 30, 200, 10), "increase", true, nil, SeverityCritical, Abort},
		{"latency up, not critical", series(1, 30, 100, 10), series(2, 30, 200, 10), "increase", false, nil, SeverityWarning, Abort},
		{"latency down is fine for increase", series(1, 30, 200, 10), series(2, 30, 100, 10), "increase", true, nil, SeverityInfo, Promote},
		{"success rate down, direction decrease", series(3, 30, 0.99, 0.002), series(4, 30, 0.60, 0.01), "decrease", true, nil, SeverityCritical, Abort},
		// 99.9% -> 97% success is 0.1% -> 3% failures: judged on the failure share, not a 3% drop.
		{"success ratio judged by its failures", clip1(series(11, 30, 0.999, 0.0005)), clip1(series(12, 30, 0.970, 0.004)), "decrease", true, nil, SeverityCritical, Abort},
		{"success ratio noise", clip1(series(11, 30, 0.999, 0.0005)), clip1(series(13, 30, 0.999, 0.0005)), "decrease", true, nil, SeverityInfo, Promote},
		{"either direction catches a drop", series(3, 30, 100, 5), series(4, 30, 50, 5), "either", false, nil, SeverityWarning, Abort},
		{"same distribution", series(5, 30, 100, 10), series(6, 30, 100, 10), "increase", true, nil, SeverityInfo, Promote},
		// Significant (n=200) but only 5% higher: inside the 25% tolerance.
		{"significant but within tolerance", series(7, 200, 100, 5), series(8, 200, 105, 5), "increase", true, nil, SeverityInfo, Promote},
		{"within a tighter tolerance fails", series(7, 200, 100, 5), series(8, 200, 105, 5), "increase", true, ptr(0.02), SeverityCritical, Abort},
		{"variance increase", series(9, 40, 100, 3), series(10, 40, 100, 40), "increase", false, nil, SeverityWarning, Abort},
		{"sparse counts", make([]float64, 40), []float64{0, 0, 1, 0, 0, 0, 1, 0, 0, 2, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "increase", true, nil, SeverityCritical, Abort},
		{"NaN samples are dropped, not zeros", []float64{1, 1, 1, 1, 1, nan, nan, nan}, []float64{nan, nan, nan, nan, nan, nan, 1, 1}, "increase", false, nil, SeverityInfo, Inconclusive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{
				StableMetrics: []Metric{{Name: "m", Values: tc.stable, Direction: tc.direction, Critical: tc.critical, Tolerance: tc.tolerance}},
				CanaryMetrics: []Metric{{Name: "m", Values: tc.canary, Direction: tc.direction, Critical: tc.critical, Tolerance: tc.tolerance}},
			}
			v := mustJudge(t, in, Options{})
			e := findEvidence(v, KindMetric, "")
			if e == nil || e.Severity != tc.wantSeverity {
				t.Fatalf("metric evidence %+v, want severity %s", e, tc.wantSeverity)
			}
			if v.Verdict != tc.wantVerdict {
				t.Errorf("verdict %s, want %s: %s", v.Verdict, tc.wantVerdict, e.Detail)
			}
		})
	}
}

func TestMetricsMissingData(t *testing.T) {
	good := series(1, 30, 10, 1)
	tests := []struct {
		name        string
		stable      []Metric
		canary      []Metric
		wantVerdict string
	}{
		{"half the metrics without data", []Metric{{Name: "a", Values: good}, {Name: "b", Values: good}},
			[]Metric{{Name: "a", Values: good}, {Name: "b"}}, Inconclusive},
		{"critical metric without data", []Metric{{Name: "a", Values: good}, {Name: "b", Values: good}, {Name: "c", Values: good, Critical: true}},
			[]Metric{{Name: "a", Values: good}, {Name: "b", Values: good}, {Name: "c", Values: good[:3], Critical: true}}, Inconclusive},
		{"one of three non-critical missing", []Metric{{Name: "a", Values: good}, {Name: "b", Values: good}, {Name: "c", Values: good}},
			[]Metric{{Name: "a", Values: good}, {Name: "b", Values: good}}, Promote},
		{"metric only on canary", nil, []Metric{{Name: "a", Values: good}}, Inconclusive},
		{"traffic metrics alone are not judged", []Metric{{Name: "requests", Values: []float64{5}}}, []Metric{{Name: "requests", Values: []float64{1}}}, Inconclusive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := mustJudge(t, Input{StableMetrics: tc.stable, CanaryMetrics: tc.canary}, Options{})
			if v.Verdict != tc.wantVerdict {
				t.Errorf("verdict %s, want %s%s", v.Verdict, tc.wantVerdict, evidenceSummary(v))
			}
		})
	}
}

// A shift below the metric's MinEffect is no regression however certain: p95 latency 4.8 ms → 6.2 ms
// (+29%, beyond the 25% tolerance) is noise to users; the same data without the floor fails.
func TestMetricMinEffect(t *testing.T) {
	in := Input{
		StableMetrics: []Metric{{Name: "latency_p95", Values: series(1, 30, 0.0048, 0.0002)}},
		CanaryMetrics: []Metric{{Name: "latency_p95", Values: series(2, 30, 0.0062, 0.0002)}},
	}
	if v := mustJudge(t, in, Options{}); findEvidence(v, KindMetric, SeverityWarning) == nil {
		t.Fatalf("without a floor the shift should be a warning:%s", evidenceSummary(v))
	}
	floor := 0.02
	in.StableMetrics[0].MinEffect, in.CanaryMetrics[0].MinEffect = &floor, &floor
	v := mustJudge(t, in, Options{})
	if e := findEvidence(v, KindMetric, SeverityInfo); e == nil {
		t.Errorf("a 1.4 ms shift under a 20 ms floor still counts:%s", evidenceSummary(v))
	}
	// A real regression clears the floor.
	in.CanaryMetrics[0].Values = series(3, 30, 0.2, 0.01)
	if v := mustJudge(t, in, Options{}); findEvidence(v, KindMetric, SeverityWarning) == nil {
		t.Errorf("a 195 ms shift was hidden by the floor:%s", evidenceSummary(v))
	}
}
