package triage

import (
	"context"
	"strings"
	"testing"

	"github.com/fixloop/fixloop/internal/auth"
)

// Attack from issue 14: /a2a/analyze (unauthenticated) filed issues and --read-only did not stop it.
// An abort verdict now files an issue only for a caller holding scope issue on a writable server, and
// delegates the fix only for one holding fix.
func TestActNeedsScopesAndAWritableServer(t *testing.T) {
	tr, v, sink := abortFixture(t)
	tr.cfg.FixerURL = "http://127.0.0.1:1/agents/fixer" // never reached: the caller below lacks fix
	act := func(ctx context.Context) *AnalyzeResult {
		res := &AnalyzeResult{JudgeVerdict: *v, Namespace: "shop", Rollout: "web"}
		tr.act(ctx, AnalyzeInput{Namespace: "shop", Rollout: "web"}, analysisInputs{RepoURL: "acme/shop"}, "op", res, nop)
		return res
	}
	plugin := auth.WithIdentity(context.Background(), &auth.Identity{Name: "argo-plugin (unauthenticated)", Scopes: []string{auth.ScopeRead}})
	if res := act(plugin); res.Issue != nil || !strings.Contains(strings.Join(res.Notes, " "), "scope issue") {
		t.Fatalf("read-only caller: issue %+v, notes %v", res.Issue, res.Notes)
	}
	tr.cfg.ReadOnly = true
	filer := auth.WithIdentity(context.Background(), &auth.Identity{Name: "token:argo", Scopes: []string{auth.ScopeRead, auth.ScopeIssue}})
	if res := act(filer); res.Issue != nil || !strings.Contains(strings.Join(res.Notes, " "), "read-only") {
		t.Fatalf("--read-only server: issue %+v, notes %v", res.Issue, res.Notes)
	}
	if n := len(sink.Issues("acme/shop")); n != 0 {
		t.Fatalf("%d issues filed without the right to", n)
	}
	tr.cfg.ReadOnly = false
	res := act(filer)
	if res.Issue == nil || res.FixerTaskID != "" || res.FixerError != "" || !strings.Contains(strings.Join(res.Notes, " "), "scope fix") {
		t.Fatalf("issue-only caller: issue %+v, fixer %q/%q, notes %v", res.Issue, res.FixerTaskID, res.FixerError, res.Notes)
	}
}
