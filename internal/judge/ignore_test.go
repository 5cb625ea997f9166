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
	// Masked, the blue and green request lines are one event: nothing new or vanished remains.
	for _, e := range with.Evidence {
		if e.Kind == KindGoneTemplate || e.Kind == KindNewTemplate {
			t.Errorf("colour lines not merged by the ignore: %s %q", e.Kind, e.Template)
		}
	}
}

// Ignoring the colour must not hide a new error line that happens to print it, nor a panic.
func TestIgnoreDoesNotHideNewErrors(t *testing.T) {
	canary := append(reqLines(180, "INFO", "yellow"), reqLines(20, "ERROR", "yellow")...)
	in := Input{Stable: recs(reqLines(800, "INFO", "blue")), Canary: recs(canary), Ignore: []string{`color=\w+`}}
	v := mustJudge(t, in, Options{})
	if v.Verdict != Abort {
		t.Fatalf("a new error-level request line was ignored with the colour: %s%s", v.Verdict, evidenceSummary(v))
	}
	if e := findEvidence(v, KindNewTemplate, SeverityCritical); e == nil || !strings.Contains(e.Template, "[error]") {
		t.Errorf("want the error line as critical evidence:%s", evidenceSummary(v))
	}
}

// A pattern matching a whole message ignores that event, even at error level.
func TestIgnoreWholeMessage(t *testing.T) {
	canary := append(reqLines(190, "INFO", "blue"), repeatLine(6, "level=ERROR msg=\"read tcp: connection reset by peer\" conn=%d")...)
	in := Input{Stable: recs(reqLines(800, "INFO", "blue")), Canary: recs(canary)}
	if v := mustJudge(t, in, Options{}); v.Verdict != Abort {
		t.Fatalf("without ignore: %s", v.Verdict)
	}
	in.Ignore = []string{`.*connection reset.*`}
	v := mustJudge(t, in, Options{})
	if v.Verdict != Promote {
		t.Errorf("with the whole message ignored: %s%s", v.Verdict, evidenceSummary(v))
	}
	if e := findEvidence(v, KindNewTemplate, SeverityIgnored); e == nil {
		t.Errorf("ignored evidence not marked:%s", evidenceSummary(v))
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
