package fixer

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"

	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/report"
	"github.com/fixloop/fixloop/internal/slack"
	"github.com/fixloop/fixloop/internal/store"
	"github.com/fixloop/fixloop/internal/testenv"
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
	var mu sync.Mutex
	var blocks []string
	sl := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			mu.Lock()
			blocks = append(blocks, r.Form.Get("blocks"))
			mu.Unlock()
			_, _ = w.Write([]byte(`{"ok":true,"channel":"C1","ts":"1.1"}`))
		})
	})
	sl.Start()
	defer sl.Stop()
	_ = report.SaveFix(ctx, st, report.Fix{Fingerprint: "fp1", Fixer: "opencode", State: "working", Namespace: "shop", Rollout: "web"})
	f := &Fixer{log: slog.Default(), cfg: Config{Store: st,
		Notifier: &slack.Notifier{Client: slackapi.New("xoxb-t", slackapi.OptionAPIURL(sl.GetAPIURL())), Channel: "C1"}}}
	f.prOpened(ctx, Request{Repo: "acme/shop", Fingerprint: "fp1", IssueURL: "https://github.com/acme/shop/issues/2"},
		&github.PullRequest{URL: "https://github.com/acme/shop/pull/5", Title: "fix: nil map"})
	fix, err := report.LoadFix(ctx, st, "fp1")
	if err != nil || fix.State != github.HandoffPROpen || fix.PR != "https://github.com/acme/shop/pull/5" || fix.Rollout != "web" || fix.Issue == "" {
		t.Fatalf("fix state %+v %v", fix, err)
	}
	var got []string
	testenv.WaitFor(t, "the PR notice", 20*time.Millisecond, 10*time.Second, func() (bool, string) {
		mu.Lock()
		got = append([]string(nil), blocks...)
		mu.Unlock()
		return len(got) >= 1, "nothing posted"
	})
	if len(got) != 1 || !strings.Contains(got[0], "pull/5") || !strings.Contains(got[0], "shop/web") {
		t.Errorf("PR notice: %v", got)
	}
}
