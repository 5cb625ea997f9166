package judge

import (
	"strings"
	"testing"
)

func TestNewTemplates(t *testing.T) {
	base := reqLines(400, "INFO", "blue")
	canaryBase := reqLines(100, "INFO", "blue")
	tests := []struct {
		name         string
		canaryExtra  []string
		ignore       []string
		wantSeverity string // severity of the new_template evidence; "" = none expected
		wantVerdict  string
	}{
		{"go panic is critical even once", []string{"panic: runtime error: invalid memory address or nil pointer dereference\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:12 +0x1d"}, nil, SeverityCritical, Abort},
		{"new error level line", repeatLine(4, "level=ERROR msg=\"payment failed\" order=%d"), nil, SeverityCritical, Abort},
		{"OOM at info level is still severe", []string{"level=INFO msg=\"container killed: OOMKilled\" pod=api-7f9c"}, nil, SeverityCritical, Abort},
		{"new info line is benign", repeatLine(10, "level=INFO msg=\"cache warmed\" entries=%d"), nil, SeverityInfo, Promote},
		{"frequent new warning", repeatLine(12, "level=WARN msg=\"deprecated header used\" client=%d"), nil, SeverityWarning, Abort},
		{"single new warning is information", []string{"level=WARN msg=\"config key renamed\" key=colour"}, nil, SeverityInfo, Promote},
		{"ignored new error", repeatLine(4, "level=ERROR msg=\"palette colour green not in legacy list\" id=%d"), []string{"legacy list"}, SeverityIgnored, Promote},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Stable: recs(base), Canary: recs(canaryBase, tc.canaryExtra), Ignore: tc.ignore}
			v := mustJudge(t, in, Options{})
			kind := KindNewTemplate
			if tc.ignore != nil {
				kind = KindIgnored // ignored records are dropped: only what was dropped is reported
			}
			e := findEvidence(v, kind, "")
			if e == nil || e.Severity != tc.wantSeverity {
				t.Fatalf("new_template evidence = %+v, want severity %s\n%s", e, tc.wantSeverity, evidenceSummary(v))
			}
			if v.Verdict != tc.wantVerdict {
				t.Errorf("verdict %s, want %s", v.Verdict, tc.wantVerdict)
			}
			if e.Stable == nil || *e.Stable.Count != 0 || *e.Canary.Count != len(tc.canaryExtra) {
				t.Errorf("counts stable=%v canary=%v", e.Stable, e.Canary)
			}
		})
	}
}

// With several new severe events, the root cause names the most specific one (the panic), even when a
// plainer error is more frequent.
func TestRootCausePrefersPanic(t *testing.T) {
	canary := append(reqLines(150, "INFO", "blue"),
		repeatLine(30, "level=ERROR msg=\"failed to load colour from palette store\" attempt=%d")...)
	canary = append(canary, repeatLine(5, "level=ERROR msg=\"http: panic serving 10.0.0.7:41234: runtime error: index out of range [3] with length 3\" id=%d")...)
	v := mustJudge(t, Input{Stable: recs(reqLines(800, "INFO", "blue")), Canary: recs(canary)}, Options{})
	if v.Verdict != Abort {
		t.Fatalf("verdict %s%s", v.Verdict, evidenceSummary(v))
	}
	if !strings.Contains(v.RootCause, "panic") {
		t.Errorf("root cause should name the panic, got %q", v.RootCause)
	}
}
