package judge

import (
	"strings"
	"testing"

	"github.com/fixloop/fixloop/internal/judge/stats"
)

func TestRateChange(t *testing.T) {
	errLine := "level=ERROR msg=\"db timeout\" query_id=%d"
	warnLine := "level=WARN msg=request status=429 client=%d"
	tests := []struct {
		name                   string
		stableOK, stableBad    int
		canaryOK, canaryBad    int
		line                   string
		wantSeverity           string // "" = no rate_change evidence
		wantVerdict            string
		stableReqs, canaryReqs float64
	}{
		// 2% errors on both sides, canary at 20% of the traffic: not a change.
		{"equal error rate at 20% traffic", 800, 16, 200, 4, errLine, SeverityInfo, Promote, 0, 0},
		{"error rate x8", 800, 8, 200, 16, errLine, SeverityCritical, Abort, 0, 0},
		{"warning rate x10", 800, 8, 200, 20, warnLine, SeverityWarning, Abort, 0, 0},
		{"errors drop", 800, 80, 200, 2, errLine, SeverityInfo, Promote, 0, 0},
		// Significant but small (x1.3): below the effect-size gate.
		{"small increase passes the gate", 8000, 800, 2000, 260, errLine, SeverityInfo, Promote, 0, 0},
		// Request counts as exposure: canary logs as many errors, but served 10x the requests.
		{"request exposure", 800, 10, 200, 10, errLine, SeverityInfo, Promote, 1000, 10000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{
				Stable:         recs(reqLines(tc.stableOK, "INFO", "blue"), repeatLine(tc.stableBad, tc.line)),
				Canary:         recs(reqLines(tc.canaryOK, "INFO", "blue"), repeatLine(tc.canaryBad, tc.line)),
				StableRequests: tc.stableReqs, CanaryRequests: tc.canaryReqs,
			}
			v := mustJudge(t, in, Options{})
			if v.Verdict != tc.wantVerdict {
				t.Errorf("verdict %s, want %s%s", v.Verdict, tc.wantVerdict, evidenceSummary(v))
			}
			e := findEvidence(v, KindRateChange, "")
			switch {
			case tc.wantSeverity == "" && e != nil:
				t.Errorf("unexpected rate_change evidence %+v", e)
			case tc.wantSeverity != "" && (e == nil || e.Severity != tc.wantSeverity):
				t.Errorf("rate_change evidence %+v, want severity %s%s", e, tc.wantSeverity, evidenceSummary(v))
			}
		})
	}
}

func TestRateChangeHolmCorrection(t *testing.T) {
	// 30 distinct templates, each more frequent in canary with a raw p-value below alpha; after
	// the Holm correction over 30 tests none is significant, so nothing blocks.
	var stable, canary [][]string
	for k := 0; k < 30; k++ {
		msg := "level=WARN msg=\"slow" + strings.Repeat(" step", k+1) + "\" id=%d"
		stable = append(stable, repeatLine(28, msg))
		canary = append(canary, repeatLine(22, msg))
	}
	stable = append(stable, reqLines(4000, "INFO", "blue"))
	canary = append(canary, reqLines(1000, "INFO", "blue"))
	in := Input{Stable: recs(stable...), Canary: recs(canary...)}
	raw, _ := stats.RateRatioTest(28, 22, float64(len(in.Stable)), float64(len(in.Canary)), stats.TwoSided)
	if raw >= 0.01 {
		t.Fatalf("test setup: raw p %g is not below alpha", raw)
	}
	v := mustJudge(t, in, Options{MinRateRatio: 1.5})
	if e := findEvidence(v, KindRateChange, SeverityWarning); e != nil {
		t.Errorf("Holm-corrected family still flagged %s (adjusted p %v, raw %g)", e.Template, *e.PValue, raw)
	}
	if v.Summary.Templates < 31 {
		t.Fatalf("test setup: templates merged (%d)", v.Summary.Templates)
	}
}
