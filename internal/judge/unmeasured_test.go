package judge

import (
	"context"
	"fmt"
	"testing"
)

// accessLines are rollouts-demo style request lines (one per request, status in the line, no metrics).
func accessLines(n int, color string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("2025/11/21 10:00:%02d 200 - %s", i%60, color)
	}
	return out
}

// An app that exports no HTTP metrics (argoproj/rollouts-demo): the collector still asks for
// error_ratio and latency, which neither side has. Healthy access logs must promote with the
// confidence of the logs alone, not stay inconclusive forever for want of a series that was never
// there (it was inconclusive at 0: "critical metric error_ratio has too few samples: stable 0, canary 0").
func TestMetricsNeitherSideHasAreNotMeasured(t *testing.T) {
	empty := func(name string, critical bool) Metric { return Metric{Name: name, Critical: critical} }
	restarts := Metric{Name: "restarts", Kind: "pod", Critical: true, Values: []float64{0, 0, 0, 0, 0, 0, 0, 0}}
	in := Input{
		Stable:        recs(accessLines(800, "blue")),
		Canary:        recs(accessLines(250, "blue")),
		StableMetrics: []Metric{empty("error_ratio", true), empty("latency_p95", false), restarts},
		CanaryMetrics: []Metric{empty("error_ratio", true), empty("latency_p95", false), restarts},
	}
	v := mustJudge(t, in, Options{})
	if v.Verdict != Promote || v.Confidence < 90 {
		t.Fatalf("healthy logs, HTTP metrics absent on both sides: %s (%d), want promote >= 90: %s", v.Verdict, v.Confidence, v.Analysis)
	}
	if e := findEvidence(v, KindMetric, SeverityInfo); e == nil {
		t.Fatalf("no evidence says a metric was not measured: %+v", v.Evidence)
	}
	if !v.Summary.RequestStatusCompared || v.Summary.CanaryStatusRecords != 250 {
		t.Fatalf("summary does not say request statuses were compared: %+v", v.Summary)
	}

	// The canary alone lacks a series stable has (a young canary not scraped yet): still missing data.
	in.StableMetrics = []Metric{{Name: "error_ratio", Critical: true, Values: []float64{0, 0, 0, 0, 0, 0}}, restarts}
	in.CanaryMetrics = []Metric{empty("error_ratio", true), restarts}
	if v := mustJudge(t, in, Options{}); v.Verdict != Inconclusive {
		t.Fatalf("canary without a series stable has: %s (%d), want inconclusive: %s", v.Verdict, v.Confidence, v.Analysis)
	}

	// No logs and only series nobody has: nothing was measured at all.
	v, err := Judge(context.Background(), Input{StableMetrics: []Metric{empty("error_ratio", true)}, CanaryMetrics: []Metric{empty("error_ratio", true)}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Verdict != Inconclusive {
		t.Fatalf("nothing measured: %s (%d), want inconclusive: %s", v.Verdict, v.Confidence, v.Analysis)
	}
}
