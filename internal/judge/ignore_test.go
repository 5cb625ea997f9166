package judge

import (
	"strings"
	"testing"
)

// The "colour differs on purpose" case: every request line changes color=blue to color=green.
func TestIgnoreColourChange(t *testing.T) {
	in := Input{Stable: recs(reqLines(800, "INFO", "blue")), Canary: recs(reqLines(200, "INFO", "green"))}
	without := mustJudge(t, in, Options{})
	in.Ignore = []string{`colou?r`}
	with := mustJudge(t, in, Options{})
	if with.Verdict != Promote || !with.Promote {
		t.Errorf("with ignore: %s%s", with.Verdict, evidenceSummary(with))
	}
	// The ignore must be what makes the difference when the miner keeps the colours apart.
	if without.Verdict == Promote && findEvidence(without, KindGoneTemplate, "") != nil {
		t.Errorf("without ignore a vanished request line promoted%s", evidenceSummary(without))
	}
	if e := findEvidence(with, KindGoneTemplate, SeverityIgnored); without.Verdict == Abort && (e == nil || e.IgnoredBy != "colou?r") {
		t.Errorf("ignored evidence not marked: %+v", e)
	}
}

func TestIgnoreMetricAndInvalidPattern(t *testing.T) {
	in := Input{
		StableMetrics: []Metric{{Name: "colour_changes", Values: series(1, 30, 1, 0.1)}, {Name: "latency", Values: series(2, 30, 10, 1)}},
		CanaryMetrics: []Metric{{Name: "colour_changes", Values: series(3, 30, 9, 0.1)}, {Name: "latency", Values: series(4, 30, 10, 1)}},
	}
	if v := mustJudge(t, in, Options{}); v.Verdict != Abort {
		t.Fatalf("without ignore: %s", v.Verdict)
	}
	in.Ignore = []string{"^colour_"}
	if v := mustJudge(t, in, Options{}); v.Verdict != Promote {
		t.Errorf("ignored metric still blocks: %s%s", v.Verdict, evidenceSummary(v))
	}
	in.Ignore = []string{"(unclosed"}
	if _, err := Judge(t.Context(), in, Options{}); err == nil || !strings.Contains(err.Error(), "(unclosed") {
		t.Errorf("invalid pattern error = %v", err)
	}
}
