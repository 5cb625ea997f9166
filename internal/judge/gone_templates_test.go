package judge

import "testing"

func TestGoneTemplates(t *testing.T) {
	tests := []struct {
		name         string
		stableExtra  []string
		wantSeverity string
		wantVerdict  string
	}{
		{"regular event vanishes", repeatLine(200, "level=INFO msg=\"order stored\" id=%d"), SeverityWarning, Abort},
		{"rare event missing is nothing", repeatLine(3, "level=INFO msg=\"order stored\" id=%d"), "", Promote},
		{"stable error gone is good news", repeatLine(40, "level=ERROR msg=\"db timeout\" id=%d"), SeverityInfo, Promote},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Stable: recs(reqLines(800, "INFO", "blue"), tc.stableExtra), Canary: recs(reqLines(200, "INFO", "blue"))}
			v := mustJudge(t, in, Options{})
			e := findEvidence(v, KindGoneTemplate, "")
			if tc.wantSeverity == "" {
				if e != nil {
					t.Errorf("unexpected %+v", e)
				}
			} else if e == nil || e.Severity != tc.wantSeverity {
				t.Errorf("gone evidence %+v, want %s%s", e, tc.wantSeverity, evidenceSummary(v))
			}
			if v.Verdict != tc.wantVerdict {
				t.Errorf("verdict %s, want %s", v.Verdict, tc.wantVerdict)
			}
		})
	}
}
