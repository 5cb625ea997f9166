package triage

import (
	"strings"
	"testing"
)

// A note the analysis already carries (compare_canary's metrics-source note) is said once; other notes
// still follow under "Notes:".
func TestPluginResponseSaysEachNoteOnce(t *testing.T) {
	res := &AnalyzeResult{}
	res.Verdict, res.Promote, res.Confidence = VerdictPromote, true, 95
	res.Analysis = "No regression. Note: no HTTP metrics source found for these pods."
	res.Notes = []string{"no HTTP metrics source found for these pods", "stable logs: pod web-1 restarted"}
	a := pluginResponse(res).Analysis
	if n := strings.Count(a, "no HTTP metrics source found"); n != 1 {
		t.Errorf("the metrics-source note appears %d times: %s", n, a)
	}
	if !strings.Contains(a, "Notes: stable logs: pod web-1 restarted.") {
		t.Errorf("the other note is missing: %s", a)
	}
}
