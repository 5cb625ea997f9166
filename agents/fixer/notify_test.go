package fixer

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/report"
	"github.com/fixloop/fixloop/internal/slack"
	"github.com/fixloop/fixloop/internal/slack/slacktesting"
	"github.com/fixloop/fixloop/internal/store"
)

// The fixer's verified pull request becomes the failure's fix state (keeping the rollout the triage
// agent recorded) and is posted to the Slack channel.
func TestPROpenedRecordedAndPosted(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sl := slacktesting.NewRecorder(t)
	_ = report.SaveFix(ctx, st, report.Fix{Fingerprint: "fp1", Fixer: "opencode", State: "working", Namespace: "shop", Rollout: "web"})
	f := &Fixer{log: slog.Default(), cfg: Config{Store: st,
		Notifier: &slack.Notifier{Client: sl.Client(), Channel: "C1"}}}
	f.prOpened(ctx, Request{Repo: "acme/shop", Fingerprint: "fp1", IssueURL: "https://github.com/acme/shop/issues/2"},
		&github.PullRequest{URL: "https://github.com/acme/shop/pull/5", Title: "fix: nil map"})
	fix, err := report.LoadFix(ctx, st, "fp1")
	if err != nil || fix.State != github.HandoffPROpen || fix.PR != "https://github.com/acme/shop/pull/5" || fix.Rollout != "web" || fix.Issue == "" {
		t.Fatalf("fix state %+v %v", fix, err)
	}
	notice, _ := sl.WaitFor(t, 0, 10*time.Second, func(c slacktesting.Call) bool { return c.Method == "chat.postMessage" })
	if b := notice.Get("blocks"); !strings.Contains(b, "pull/5") || !strings.Contains(b, "shop/web") {
		t.Errorf("PR notice: %s", b)
	}
	if n := sl.Count(); n != 1 {
		t.Errorf("%d Slack calls for one PR, want 1:\n%s", n, sl.Text())
	}
}
