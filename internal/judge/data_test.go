package judge

import "testing"

func TestDataSufficiency(t *testing.T) {
	tests := []struct {
		name                   string
		stable, canary         int
		stableReqs, canaryReqs float64
		extraCanary            []string
		want                   string
	}{
		{"enough records", 200, 50, 0, 0, nil, Promote},
		{"too few canary records", 200, 5, 0, 0, nil, Inconclusive},
		{"no logs at all", 0, 0, 0, 0, nil, Inconclusive},
		{"low traffic by request count", 200, 50, 1000, 10, nil, Inconclusive},
		{"enough requests", 200, 50, 1000, 250, nil, Promote},
		// A panic is a panic: too little data does not hide it.
		{"panic with little data still aborts", 200, 2, 0, 0, []string{"panic: boom\ngoroutine 1 [running]:\nmain.main()\n\t/a.go:1 +0x1"}, Abort},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Stable: recs(reqLines(tc.stable, "INFO", "blue")), Canary: recs(reqLines(tc.canary, "INFO", "blue"), tc.extraCanary),
				StableRequests: tc.stableReqs, CanaryRequests: tc.canaryReqs}
			v := mustJudge(t, in, Options{})
			if v.Verdict != tc.want {
				t.Errorf("verdict %s, want %s%s", v.Verdict, tc.want, evidenceSummary(v))
			}
			if v.Verdict == Inconclusive && (v.Promote || v.Confidence > 40) {
				t.Errorf("inconclusive with promote=%v confidence=%d", v.Promote, v.Confidence)
			}
		})
	}
}

func TestMinimumsAreConfigurable(t *testing.T) {
	in := Input{Stable: recs(reqLines(30, "INFO", "blue")), Canary: recs(reqLines(8, "INFO", "blue"))}
	if v := mustJudge(t, in, Options{}); v.Verdict != Inconclusive {
		t.Errorf("default minimum: %s", v.Verdict)
	}
	if v := mustJudge(t, in, Options{MinRecords: 5}); v.Verdict != Promote {
		t.Errorf("MinRecords 5: %s", v.Verdict)
	}
}
