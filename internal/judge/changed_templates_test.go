package judge

import (
	"fmt"
	"strings"
	"testing"
)

func lines(n int, format string, args ...any) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, append([]any{1000 + 37*i}, args...)...)
	}
	return out
}

// A value that changes in an info line is one changed_template; a change that raises severity or
// turns a word into a failure still counts as before.
func TestChangedTemplates(t *testing.T) {
	stable := lines(800, "level=INFO msg=\"order saved\" order_id=%d checkout=%s", "classic")
	tests := []struct {
		name        string
		canary      []string
		wantVerdict string
		wantKind    string // a blocking kind, or changed_template for the benign cases
	}{
		{"value change", lines(200, "level=INFO msg=\"order saved\" order_id=%d checkout=%s", "express"), Promote, KindChangedTemplate},
		{"event vanishes with nothing in its place", nil, Abort, KindGoneTemplate},
		{"info becomes error", lines(200, "level=ERROR msg=\"order saved\" order_id=%d checkout=%s", "express"), Abort, KindNewTemplate},
		{"saved becomes failed", lines(200, "level=INFO msg=\"order failed\" order_id=%d checkout=%s", "classic"), Abort, KindGoneTemplate},
		{"rate collapses", lines(20, "level=INFO msg=\"order saved\" order_id=%d checkout=%s", "express"), Abort, KindGoneTemplate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			canary := append(tc.canary, lines(50, "level=INFO msg=\"cart viewed\" cart_id=%d items=%s", "3")...)
			v := mustJudge(t, Input{Stable: recs(stable, lines(200, "level=INFO msg=\"cart viewed\" cart_id=%d items=%s", "3")), Canary: recs(canary)}, Options{})
			if v.Verdict != tc.wantVerdict {
				t.Fatalf("verdict %s, want %s%s", v.Verdict, tc.wantVerdict, evidenceSummary(v))
			}
			sev := SeverityInfo
			if tc.wantVerdict == Abort {
				sev = ""
			}
			e := findEvidence(v, tc.wantKind, sev)
			if e == nil {
				t.Fatalf("no %s evidence%s", tc.wantKind, evidenceSummary(v))
			}
			if tc.wantKind == KindChangedTemplate && (!strings.Contains(e.Detail, "`checkout=classic` → `checkout=express`") || v.Confidence < 70) {
				t.Errorf("detail %q, confidence %d", e.Detail, v.Confidence)
			}
		})
	}
}

// rollouts-demo's request line: "500 - blue" is a failed request though no word says so.
func TestFailedRequestsFromStatus(t *testing.T) {
	stable := lines(800, "2025/11/21 10:00:00 200 - blue %.0d")
	canary := append(lines(140, "2025/11/21 10:00:00 200 - blue %.0d"), lines(60, "2025/11/21 10:00:00 500 - blue %.0d")...)
	v := mustJudge(t, Input{Stable: recs(stable), Canary: recs(canary)}, Options{})
	e := findEvidence(v, KindFailedRequests, SeverityCritical)
	if v.Verdict != Abort || e == nil || !strings.Contains(e.Detail, "30.0% of 200 canary requests vs 0.0% of 800 stable") {
		t.Fatalf("30%% 500s: %s%s", v.Verdict, evidenceSummary(v))
	}
	// The same share on both sides is not a regression.
	stable = append(lines(780, "2025/11/21 10:00:00 200 - blue %.0d"), lines(20, "2025/11/21 10:00:00 500 - blue %.0d")...)
	canary = append(lines(195, "2025/11/21 10:00:00 200 - blue %.0d"), lines(5, "2025/11/21 10:00:00 500 - blue %.0d")...)
	if v := mustJudge(t, Input{Stable: recs(stable), Canary: recs(canary)}, Options{}); v.Verdict != Promote {
		t.Fatalf("equal 2.5%% shares: %s%s", v.Verdict, evidenceSummary(v))
	}
}

// Durations in log lines are compared like a latency metric, per event.
func TestLogLatency(t *testing.T) {
	mk := func(n int, base float64) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("level=INFO msg=request path=/api status=200 duration_ms=%.1f", base+float64(i%17))
		}
		return out
	}
	v := mustJudge(t, Input{Stable: recs(mk(800, 10)), Canary: recs(mk(200, 150))}, Options{})
	if e := findEvidence(v, KindLogLatency, SeverityWarning); v.Verdict != Abort || e == nil {
		t.Fatalf("10ms -> 150ms: %s%s", v.Verdict, evidenceSummary(v))
	}
	// A shift below the 20 ms minimum effect is not a regression, however certain.
	if v := mustJudge(t, Input{Stable: recs(mk(800, 10)), Canary: recs(mk(200, 14))}, Options{}); v.Verdict != Promote {
		t.Fatalf("10ms -> 14ms: %s%s", v.Verdict, evidenceSummary(v))
	}
}
