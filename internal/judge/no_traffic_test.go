package judge

import (
	"context"
	"testing"
)

// Pods that log nothing and serve no request, with only restart counts (which every pod has): nothing
// shows the canary works, so the verdict is inconclusive (it was a promote at 95). Metrics of what the
// service does still judge alone.
func TestNoLogsNoTrafficOnlyPodMetricsIsInconclusive(t *testing.T) {
	series := func(name, kind string) []Metric {
		return []Metric{{Name: name, Kind: kind, Values: []float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}}
	}
	v, err := Judge(context.Background(), Input{StableMetrics: series("restarts", "pod"), CanaryMetrics: series("restarts", "pod")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Verdict != Inconclusive || v.Promote {
		t.Fatalf("only pod-level metrics: verdict %s (promote %v, confidence %d): %s", v.Verdict, v.Promote, v.Confidence, v.Analysis)
	}
	v, err = Judge(context.Background(), Input{StableMetrics: series("error_rate", ""), CanaryMetrics: series("error_rate", "")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Verdict != Promote {
		t.Fatalf("a service metric alone: verdict %s, want promote: %s", v.Verdict, v.Analysis)
	}
}
