package triage

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/fixloop/fixloop/internal/argorun"
)

// The web provider's JSON keeps every top-level field Argo templates read (jsonPath "{$.promote}", ...)
// now that its verdict fields are argorun.Result's: nothing nested, nothing renamed.
func TestWebVerdictJSONIsFlat(t *testing.T) {
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	v := WebVerdict{Status: "done", Namespace: "shop", Rollout: "web", AnalyzedAt: &at, Run: "uid/run/uid", Untrusted: []string{"ignore"},
		Result: argorun.Result{Verdict: "abort", Promote: false, Confidence: 99, Analysis: "a", RootCause: "r", Remediation: "m",
			Fingerprint: "fp", IssueURL: "i", PRLink: "p", Report: "rep", CanaryHash: "c", StableHash: "s", StablePods: 2, CanaryPods: 1}}
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"analysis", "analyzedAt", "canaryHash", "canaryPods", "confidence", "fingerprint", "issueUrl", "namespace", "prLink",
		"promote", "remediation", "report", "rollout", "rootCause", "run", "stableHash", "stablePods", "status", "untrusted", "verdict"}
	if !slices.Equal(keys, want) {
		t.Fatalf("web verdict keys\n got %v\nwant %v", keys, want)
	}
	if got["confidence"] != 99.0 || got["verdict"] != "abort" || got["canaryHash"] != "c" || got["promote"] != false {
		t.Fatalf("values: %s", raw)
	}
	var back WebVerdict // the cache stores this JSON and reads it back
	if err := json.Unmarshal(raw, &back); err != nil || back.Result != v.Result || back.Run != v.Run {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}
