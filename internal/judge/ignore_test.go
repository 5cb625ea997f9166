package judge

import (
	"strings"
	"testing"
	"time"
)

// The case: "ignore X" means events about X do not count, even at error level. Masking
// used to leave "ERROR legacy endpoint <ignored> called by client …" as a new error: abort.
func TestIgnoreDropsMatchingRecords(t *testing.T) {
	canary := append(reqLines(190, "INFO", "blue"), repeatLine(8, "level=ERROR msg=\"legacy endpoint /v1/colors called by client 10.3.52.%d\"")...)
	in := Input{Stable: recs(reqLines(800, "INFO", "blue")), Canary: recs(canary)}
	if v := mustJudge(t, in, Options{}); v.Verdict != Abort {
		t.Fatalf("without ignore: %s", v.Verdict)
	}
	in.Ignore = []string{"legacy endpoint /v1/colors"}
	v := mustJudge(t, in, Options{})
	if v.Verdict != Promote {
		t.Fatalf("with ignore: %s%s", v.Verdict, evidenceSummary(v))
	}
	e := findEvidence(v, KindIgnored, SeverityIgnored)
	if e == nil || *e.Canary.Count != 8 || *e.Stable.Count != 0 || !strings.Contains(e.Detail, "8 of them errors") {
		t.Errorf("what the ignore dropped is not reported:%s", evidenceSummary(v))
	}
}

// Ignoring one event must not hide another: the panic stays.
func TestIgnoreKeepsOtherEvents(t *testing.T) {
	canary := append(reqLines(180, "INFO", "blue"), repeatLine(5, "level=ERROR msg=\"legacy endpoint called\" n=%d")...)
	canary = append(canary, repeatLine(4, "level=ERROR msg=\"panic: runtime error: invalid memory address\" n=%d")...)
	in := Input{Stable: recs(reqLines(800, "INFO", "blue")), Canary: recs(canary), Ignore: []string{"legacy endpoint"}}
	v := mustJudge(t, in, Options{})
	if v.Verdict != Abort || !strings.Contains(v.RootCause, "invalid memory address") {
		t.Fatalf("the panic was hidden: %s %s", v.Verdict, v.RootCause)
	}
}

// A mask merges lines that differ only in the masked value; it drops nothing, so a new error that
// prints the masked value still counts.
func TestMaskMergesValuesKeepsErrors(t *testing.T) {
	in := Input{Stable: recs(reqLines(800, "INFO", "blue")), Canary: recs(reqLines(200, "INFO", "green")), Mask: []string{`color=\w+`}}
	v := mustJudge(t, in, Options{})
	if v.Verdict != Promote {
		t.Fatalf("masked colour: %s%s", v.Verdict, evidenceSummary(v))
	}
	for _, e := range v.Evidence {
		if e.Kind == KindGoneTemplate || e.Kind == KindNewTemplate || e.Kind == KindChangedTemplate {
			t.Errorf("colour lines not merged by the mask: %s %q", e.Kind, e.Template)
		}
	}
	canary := append(reqLines(180, "INFO", "yellow"), reqLines(20, "ERROR", "yellow")...)
	in.Canary = recs(canary)
	v = mustJudge(t, in, Options{})
	if e := findEvidence(v, KindNewTemplate, SeverityCritical); v.Verdict != Abort || e == nil || !strings.Contains(e.Template, MaskPlaceholder) {
		t.Errorf("a new error line was hidden by the mask: %s%s", v.Verdict, evidenceSummary(v))
	}
}

// Metrics are never silenced by log patterns (they used to be, by name).
func TestPatternsNeverSilenceMetrics(t *testing.T) {
	in := Input{
		StableMetrics: []Metric{{Name: "colour_changes", Values: series(1, 30, 1, 0.1)}},
		CanaryMetrics: []Metric{{Name: "colour_changes", Values: series(3, 30, 9, 0.1)}},
		Ignore:        []string{"^colour_"}, Mask: []string{"colour"},
	}
	if v := mustJudge(t, in, Options{}); v.Verdict != Abort {
		t.Errorf("a log pattern silenced a metric: %s%s", v.Verdict, evidenceSummary(v))
	}
}

// Patterns that match most records would turn any abort into a promote (issue 14: `--ignore '.'`
// promoted 15 new panics with confidence 95); they are refused with a clear error.
func TestBroadPatternsRefused(t *testing.T) {
	canary := append(reqLines(180, "INFO", "blue"), repeatLine(15, "panic: runtime error: index out of range [%d]")...)
	in := Input{Stable: recs(reqLines(800, "INFO", "blue")), Canary: recs(canary)}
	for _, p := range []string{".", `\S+`, `.*`, `\w`, "e", "[a-z]", "x*", `(?s).+`} {
		for _, field := range []string{"ignore", "mask"} {
			in := in
			in.Ignore, in.Mask = nil, nil
			if field == "ignore" {
				in.Ignore = []string{p}
			} else {
				in.Mask = []string{p}
			}
			v, err := Judge(t.Context(), in, Options{})
			if err == nil {
				t.Errorf("%s %q accepted: %s", field, p, v.Verdict)
				continue
			}
			if !strings.Contains(err.Error(), field+" pattern") || CheckPatterns(in.Ignore, in.Mask) == nil {
				t.Errorf("%s %q: unclear error %v", field, p, err)
			}
		}
	}
	for _, p := range []string{`color=\w+`, `\d+`, "legacy endpoint", "(?i)healthz", `request_id=\S+`, "v1\\.2\\.3"} {
		if err := CheckPatterns([]string{p}, []string{p}); err != nil {
			t.Errorf("ordinary pattern %q refused: %v", p, err)
		}
	}
	if err := CheckPatterns([]string{"(unclosed"}, nil); err == nil || !strings.Contains(err.Error(), "(unclosed") {
		t.Errorf("invalid pattern error = %v", err)
	}
	if err := CheckPatterns([]string{strings.Repeat("a", 600)}, nil); err == nil {
		t.Error("a 600-byte pattern was accepted")
	}
}

// Past its time budget the judge answers inconclusive with the reason instead of running on.
func TestBudgetGivesInconclusive(t *testing.T) {
	canary := append(reqLines(180, "INFO", "blue"), repeatLine(15, "panic: runtime error: index out of range [%d]")...)
	in := Input{Stable: recs(reqLines(2000, "INFO", "blue")), Canary: recs(canary)}
	v := mustJudge(t, in, Options{Budget: time.Nanosecond})
	if v.Verdict != Inconclusive || !strings.Contains(v.RootCause, "time budget") {
		t.Fatalf("over budget: %s %q", v.Verdict, v.RootCause)
	}
	if v := mustJudge(t, in, Options{}); v.Verdict != Abort {
		t.Fatalf("within budget: %s", v.Verdict)
	}
}
