package triage_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/fixloop/fixloop/internal/testenv"
)

// slackPosts records chat.postMessage calls a slacktest server received (Slack is SaaS: the library's
// own test server speaks its Web API).
type slackPosts struct {
	mu   sync.Mutex
	msgs []url.Values
}

func (p *slackPosts) all() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.msgs...)
}

func slackRecorder(t *testing.T) (string, *slackPosts) {
	t.Helper()
	p := &slackPosts{}
	ts := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			p.mu.Lock()
			p.msgs = append(p.msgs, r.Form)
			n := len(p.msgs)
			p.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1700000000.%06d"}`, r.Form.Get("channel"), n)
		})
	})
	ts.Start()
	t.Cleanup(ts.Stop)
	return ts.GetAPIURL(), p
}

// slackNotifyArgs turns on channel notifications of `fixloop serve` (secrets through a config file,
// as they have no flags).
func slackNotifyArgs(t *testing.T, apiURL, channel string) []string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "slack.yaml")
	if err := os.WriteFile(cfg, []byte("slack:\n  botToken: xoxb-e2e\n  signingSecret: e2e-signing-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"--config", cfg, "--slack-api-url", apiURL, "--slack-notify-channel", channel}
}

var reportPath = regexp.MustCompile(`/reports/[0-9a-f]{32}`)

// checkReportLinks: the MCP result, the AI plugin's answer, the web provider's JSON and the GitHub issue
// all name a report page that serve shows with the issue linked, and the abort reached the channel with
// the report, the issue and the buttons.
func checkReportLinks(t *testing.T, srv *serveProc, viaMCP, plugin, viaWeb map[string]any, issueBody string, posts *slackPosts) {
	t.Helper()
	mcpReport, _ := viaMCP["report"].(string)
	webReport, _ := viaWeb["report"].(string)
	for name, s := range map[string]string{"MCP result": mcpReport, "AI plugin analysis": fmt.Sprint(plugin["analysis"]),
		"web provider JSON": webReport, "issue body": issueBody} {
		if !reportPath.MatchString(s) {
			t.Errorf("%s names no report page: %.400s", name, s)
		}
	}
	page := getReport(t, srv.URL+reportPath.FindString(webReport))
	if !strings.Contains(page, "/acme/one/issues/1") {
		t.Errorf("the web verdict's report page does not link the issue:\n%.2000s", page)
	}
	testenv.WaitFor(t, "an abort notice with report, issue and buttons in the channel", 200*time.Millisecond, 30*time.Second, func() (bool, string) {
		for _, m := range posts.all() {
			b := m.Get("blocks")
			if m.Get("channel") == "C-alerts" && strings.Contains(b, "aborted") && reportPath.MatchString(b) &&
				strings.Contains(b, "/acme/one/issues/1") && strings.Contains(b, "fixloop_promote_anyway") {
				return true, ""
			}
		}
		return false, fmt.Sprintf("posts %v\nserve log:\n%s", posts.all(), srv.log())
	})
}

func getReport(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return string(b)
}

// checkHandoffShown: the hand-off's pull request is on the verdict's report page, in list_findings'
// fixes and in the abort notice posted to Slack.
func checkHandoffShown(t *testing.T, srv *serveProc, artifact map[string]any, prURL string, posts *slackPosts) {
	t.Helper()
	rep, _ := artifact["report"].(string)
	if !reportPath.MatchString(rep) {
		t.Fatalf("the A2A artifact names no report: %v", artifact)
	}
	if page := getReport(t, srv.URL+reportPath.FindString(rep)); !strings.Contains(page, "label:jules") ||
		!strings.Contains(page, "pull request open") || !strings.Contains(page, prURL) {
		t.Errorf("the report page does not show the hand-off's PR %s:\n%.3000s", prURL, page)
	}
	_, lf := mcpCallTool(t, srv.URL, "list_findings", map[string]any{})
	fixes, _ := lf["fixes"].([]any)
	found := false
	for _, f := range fixes {
		m, _ := f.(map[string]any)
		found = found || m["fixer"] == "label:jules" && m["state"] == "pr_open" && m["pr"] == prURL
	}
	if !found {
		t.Errorf("list_findings fixes lack the hand-off's PR: %v", lf["fixes"])
	}
	testenv.WaitFor(t, "a Slack notice carrying the hand-off's PR "+prURL, 200*time.Millisecond, 30*time.Second, func() (bool, string) {
		for _, m := range posts.all() {
			if b := m.Get("blocks"); strings.Contains(b, "aborted") && strings.Contains(b, prURL) && strings.Contains(b, "label:jules") {
				return true, ""
			}
		}
		return false, fmt.Sprintf("posts %v", posts.all())
	})
}
