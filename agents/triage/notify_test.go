package triage

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"

	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/github/ghsink"
	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/report"
	"github.com/fixloop/fixloop/internal/slack"
	"github.com/fixloop/fixloop/internal/testenv"
)

// slackPosts records what a slacktest server received on chat.postMessage.
type slackPosts struct {
	mu   sync.Mutex
	msgs []url.Values
}

func (p *slackPosts) handle(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	p.mu.Lock()
	p.msgs = append(p.msgs, r.Form)
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true,"channel":"C1","ts":"1700000000.000001"}`))
}

// waitPosts waits until n messages were posted (notices are sent in the background).
func (p *slackPosts) waitPosts(t *testing.T, n int) []url.Values {
	t.Helper()
	var got []url.Values
	testenv.WaitFor(t, fmt.Sprintf("%d Slack posts", n), 20*time.Millisecond, 10*time.Second, func() (bool, string) {
		p.mu.Lock()
		got = append([]url.Values(nil), p.msgs...)
		p.mu.Unlock()
		return len(got) >= n, fmt.Sprintf("%d posts: %v", len(got), got)
	})
	return got
}

func notifyingTriage(t *testing.T) (*Triage, *slackPosts, *ghsink.Server) {
	t.Helper()
	posts := &slackPosts{}
	sl := slacktest.NewTestServer(func(c slacktest.Customize) { c.Handle("/chat.postMessage", posts.handle) })
	sl.Start()
	t.Cleanup(sl.Stop)
	sink, gh, _ := localGitHub(t, ghsink.Options{})
	tr, _ := newTestTriage(t)
	tr.cfg.GitHub, tr.cfg.DefaultRepo = gh, "acme/shop"
	tr.cfg.Tools.Reports = &report.Recorder{KV: tr.cfg.Store, BaseURL: "https://fixloop.example"}
	tr.cfg.Notifier = &slack.Notifier{Client: slackapi.New("xoxb-test", slackapi.OptionAPIURL(sl.GetAPIURL())), Channel: "C-alerts"}
	return tr, posts, sink
}

// An abort's report is linked from the issue, the Argo answers (AI plugin analysis, fixloop plugin
// result) and the Slack notice; the report page learns the issue in turn.
func TestAbortLinksTheReportEverywhereAndNotifies(t *testing.T) {
	ctx := context.Background()
	tr, posts, sink := notifyingTriage(t)
	dir := "../../testdata/canary/5xx-increase"
	in, err := judge.LoadFiles(judge.Files{Stable: dir + "/stable.log", Canary: dir + "/canary.log"})
	if err != nil {
		t.Fatal(err)
	}
	in.Namespace, in.Rollout = "shop", "web"
	v, err := judge.Judge(ctx, in, judge.Options{})
	if err != nil || v.Verdict != judge.Abort {
		t.Fatalf("%+v %v", v, err)
	}
	r := report.New(*v, in)
	reportURL, err := tr.cfg.Tools.Reports.Save(ctx, &r)
	if err != nil {
		t.Fatal(err)
	}
	res := &AnalyzeResult{JudgeVerdict: *v, Namespace: "shop", Rollout: "web", Report: reportURL}
	tr.act(ctx, AnalyzeInput{Namespace: "shop", Rollout: "web"}, analysisInputs{RepoURL: "acme/shop"}, "op-1", res, nop)
	tr.afterVerdict(ctx, res)
	if res.Issue == nil {
		t.Fatalf("no issue: %s", res.IssueError)
	}
	if body := sink.Issues("acme/shop")[0].Body; !strings.Contains(body, reportURL) {
		t.Errorf("issue body lacks the report %s:\n%s", reportURL, body)
	}
	if a := pluginResponse(res).Analysis; !strings.Contains(a, "Report: "+reportURL) {
		t.Errorf("AI plugin answer lacks the report: %s", a)
	}
	if got := resultOf(res).Report; got != reportURL {
		t.Errorf("fixloop plugin result report %q", got)
	}
	if !strings.Contains(res.Summary(), reportURL) {
		t.Errorf("A2A summary lacks the report: %s", res.Summary())
	}
	saved, err := report.Load(ctx, tr.cfg.Store, r.ID)
	if err != nil || saved.Links.Issue != res.Issue.URL {
		t.Errorf("report not linked to the issue: %+v %v", saved, err)
	}
	msg := posts.waitPosts(t, 1)[0]
	blocks := msg.Get("blocks")
	if msg.Get("channel") != "C-alerts" || !strings.Contains(blocks, reportURL) || !strings.Contains(blocks, res.Issue.URL) ||
		!strings.Contains(blocks, slack.ActionPromoteAnyway) || !strings.Contains(blocks, slack.ActionStartFix) {
		t.Errorf("abort notice: channel %s blocks %s", msg.Get("channel"), blocks)
	}
}

// A coding agent's hand-off moving to an open pull request is recorded for the report page and
// list_findings, and posted; while an analysis runs, its verdict notice carries the state instead.
func TestHandoffStateRecordedAndPosted(t *testing.T) {
	ctx := context.Background()
	tr, posts, _ := notifyingTriage(t)
	rec := &handoffRecord{Fingerprint: "fp9", Kind: "label", Value: "jules", IssueURL: "https://github.com/acme/shop/issues/3",
		Namespace: "shop", Rollout: "web", Obs: github.Observation{State: github.HandoffHandedOff}}
	tr.handoffChanged(withinAnalysis(ctx), rec)
	if f, err := report.LoadFix(ctx, tr.cfg.Store, "fp9"); err != nil || f == nil || f.State != github.HandoffHandedOff || f.Fixer != "label:jules" {
		t.Fatalf("handed-off state: %+v %v", f, err)
	}
	rec.Obs = github.Observation{State: github.HandoffPROpen, PR: &github.PullRequest{URL: "https://github.com/acme/shop/pull/4"}}
	tr.handoffChanged(ctx, rec)
	f, err := report.LoadFix(ctx, tr.cfg.Store, "fp9")
	if err != nil || f.State != github.HandoffPROpen || f.PR != "https://github.com/acme/shop/pull/4" {
		t.Fatalf("PR state: %+v %v", f, err)
	}
	msgs := posts.waitPosts(t, 1)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Get("blocks"), "pull/4") || !strings.Contains(msgs[0].Get("text"), "Fix proposed") {
		t.Errorf("want one PR notice (none for the in-analysis hand-off): %v", msgs)
	}
	// A PR the checks refused is not claimed anywhere.
	rec.Obs.PRProblems = []string{"targets release, not main"}
	tr.handoffChanged(ctx, rec)
	if f, _ := report.LoadFix(ctx, tr.cfg.Store, "fp9"); f.PR != "" {
		t.Errorf("a refused PR was recorded: %+v", f)
	}
}

// An inconclusive verdict is posted (promote anyway, open issue); a verdict shaped by the caller's own
// patterns, and a promote, are not.
func TestInconclusivePostedUntrustedAndPromoteNot(t *testing.T) {
	ctx := context.Background()
	tr, posts, _ := notifyingTriage(t)
	tr.afterVerdict(ctx, &AnalyzeResult{JudgeVerdict: judge.Verdict{Verdict: judge.Promote, Promote: true, Confidence: 95}, Namespace: "shop", Rollout: "web"})
	tr.afterVerdict(ctx, &AnalyzeResult{JudgeVerdict: judge.Verdict{Verdict: judge.Abort, Confidence: 99}, Namespace: "shop", Rollout: "web",
		Untrusted: []string{"ignore: panic"}})
	tr.afterVerdict(ctx, &AnalyzeResult{JudgeVerdict: inconclusive("no canary logs"), Namespace: "shop", Rollout: "api"})
	tr.notices.Wait()
	if msgs := posts.waitPosts(t, 0); len(msgs) != 1 {
		t.Fatalf("want only the inconclusive verdict posted: %v", msgs)
	}
	b := posts.waitPosts(t, 1)[0].Get("blocks")
	if !strings.Contains(b, "inconclusive") || !strings.Contains(b, "shop/api") || !strings.Contains(b, slack.ActionPromoteAnyway) || !strings.Contains(b, slack.ActionOpenIssue) {
		t.Errorf("inconclusive notice: %s", b)
	}
}
