package triage

import (
	"context"
	"strings"
	"testing"

	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/kube"
)

// A rollout Argo aborted on its own analysis went straight to fixloop's fixer whenever a fixer URL was
// set: `--fixer none` and the caller's missing scope fix were ignored on that path (the verdict path
// honoured both). Both paths now start a fix the same way.
func TestArgoAbortedRolloutHonoursFixerChoiceAndScope(t *testing.T) {
	aborted := &kube.Rollout{Namespace: "shop", Name: "web", Phase: "Degraded", Aborted: true, CurrentHash: "5d8f", StableHash: "77c1",
		Message: "RolloutAborted: Rollout aborted update to revision 3: Metric \"error-rate\" assessed Failed"}
	file := func(t *testing.T, ctx context.Context, kind string) *AnalyzeResult {
		t.Helper()
		tr, _, sink := abortFixture(t)
		tr.cfg.FixerURL = "http://127.0.0.1:1/agents/fixer" // nothing listens: reaching it is the fault
		tr.cfg.Handoff.FixerFor = func(string, string) (string, string, error) { return kind, "", nil }
		res := &AnalyzeResult{Namespace: "shop", Rollout: "web"}
		if err := tr.fileArgoFailure(ctx, aborted, "watch/op", res); err != nil || res.Issue == nil {
			t.Fatalf("issue not filed: %v %+v", err, res)
		}
		if n := len(sink.Issues("acme/shop")); n != 1 {
			t.Fatalf("%d issues, want 1", n)
		}
		return res
	}
	notes := func(res *AnalyzeResult) string { return strings.Join(res.Notes, " ") }

	if res := file(t, context.Background(), "none"); res.FixerError != "" || !strings.Contains(notes(res), "fixer: none configured") {
		t.Errorf("--fixer none: fixer error %q, notes %q", res.FixerError, notes(res))
	}
	issueOnly := auth.WithIdentity(context.Background(), &auth.Identity{Name: "token:argo", Scopes: []string{auth.ScopeRead, auth.ScopeIssue}})
	if res := file(t, issueOnly, "opencode"); res.FixerError != "" || !strings.Contains(notes(res), "scope fix") {
		t.Errorf("caller without scope fix: fixer error %q, notes %q", res.FixerError, notes(res))
	}
	if res := file(t, context.Background(), "opencode"); !strings.Contains(res.FixerError, "127.0.0.1:1") {
		t.Errorf("fixloop's fixer chosen: want the delegation attempted, fixer error %q", res.FixerError)
	}
}
