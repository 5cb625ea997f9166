package tools

import (
	"testing"

	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/prom"
)

// Without an HTTP metrics source a promote loses confidence, but an abort found on hard evidence (a new
// panic) keeps it: missing metrics do not weaken evidence that was seen.
func TestNoMetricsSourceLowersOnlyNonAborts(t *testing.T) {
	none := &canarySources{disc: &prom.Discovery{Candidates: []prom.Candidate{{Source: "istio"}}}}
	for _, tc := range []struct {
		verdict string
		want    int
	}{{judge.Abort, 99}, {judge.Promote, 60}, {judge.Inconclusive, 60}} {
		out := &CompareCanaryOutput{}
		out.Verdict, out.Confidence = tc.verdict, 80
		if tc.verdict == judge.Abort {
			out.Confidence = 99
		}
		none.judgeWith(out)
		if out.Confidence != tc.want {
			t.Errorf("%s: confidence %d, want %d", tc.verdict, out.Confidence, tc.want)
		}
		if len(out.Notes) == 0 {
			t.Errorf("%s: the verdict does not say no source was found", tc.verdict)
		}
	}
}
