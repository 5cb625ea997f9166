package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fixloop/fixloop/internal/config"
	"github.com/fixloop/fixloop/internal/slack/slacktesting"
	"github.com/fixloop/fixloop/internal/store"
)

// On a server that requires bearer tokens, Slack's signed requests reach the bridge and unsigned ones
// are refused; the answer is posted to the Slack Web API (slacktest) in a thread.
func TestServeSlackCommand(t *testing.T) {
	rec := slacktesting.NewRecorder(t)
	const secret = "serve-slack-secret"
	s := newAuthServer(t, func(c *config.Config) {
		c.Slack = config.Slack{BotToken: "xoxb-test", SigningSecret: secret, APIURL: rec.URL()}
	})
	body := slacktesting.Slash("analyze shop/web", "U1").Encode()
	post := func(key string, path ...string) int {
		req, _ := http.NewRequest("POST", s.base+append(path, "/slack/commands")[0], strings.NewReader(body))
		req.Header = slacktesting.Sign(body, time.Now(), key, "application/x-www-form-urlencoded")
		return do(t, req).code
	}
	for _, p := range []string{"/slack/commands", "/slack/events", "/slack/interactions"} {
		if code := post("wrong", p); code != http.StatusUnauthorized {
			t.Fatalf("forged Slack request to %s: %d", p, code)
		}
	}
	if code := post(secret); code != http.StatusOK {
		t.Fatalf("signed Slack request: %d", code)
	}
	answer, _ := rec.WaitFor(t, 0, 30*time.Second, func(c slacktesting.Call) bool {
		return c.Method == "chat.update" && !strings.HasPrefix(c.Get("text"), "⏳")
	})
	calls := rec.Calls()
	working := calls[1] // after the request itself, posted to start the thread
	if working.Get("thread_ts") != calls[0].TS || answer.TS != working.TS || !strings.Contains(answer.Get("text"), "shop/web") {
		t.Fatalf("answer %v not edited into the thread's working message:\n%s", answer, rec.Text())
	}
}

// A mention with free text reaches the real triage agent over A2A (in-process): its question is asked
// in the mention's thread and a plain reply there answers it, continuing the same task.
func TestServeSlackMentionConversation(t *testing.T) {
	rec := slacktesting.NewRecorder(t)
	const secret = "serve-slack-secret"
	base, logs, err := startServe(t, func(c *config.Config) {
		c.Slack = config.Slack{BotToken: "xoxb-test", SigningSecret: secret, APIURL: rec.URL()}
	})
	if err != nil {
		t.Fatal(err)
	}
	event := func(id, inner string) url.Values { // an Events API body is JSON; slackPost sends it as is
		return url.Values{"": {`{"type":"event_callback","team_id":"T1","api_app_id":"A1","event_id":"` + id + `","event":` + inner + `,"event_time":1700000001}`}}
	}
	slackPostRaw(t, base, "/slack/events", secret, event("Ev1", `{"type":"app_mention","user":"U1","text":"<@UBOT> investigate shop","ts":"1700000001.000001","channel":"C1"}`))
	q, next := rec.WaitFor(t, 0, time.Minute, func(f slacktesting.Call) bool {
		return f.Method == "chat.update" && strings.Contains(f.Get("text"), "Which namespace is shop in?")
	})
	if !strings.Contains(q.Get("text"), "Answer in this thread") {
		t.Errorf("question %q does not say how to answer", q.Get("text"))
	}
	slackPostRaw(t, base, "/slack/events", secret, event("Ev2", `{"type":"message","user":"U2","text":"default","ts":"1700000002.000001","thread_ts":"1700000001.000001","channel":"C1"}`))
	a, _ := rec.WaitFor(t, next, time.Minute, func(f slacktesting.Call) bool {
		return f.Method == "chat.update" && strings.Contains(f.Get("text"), "default/shop")
	})
	t.Logf("answer: %s", a.Get("text"))
	for _, f := range rec.Calls() {
		if f.Method == "chat.postMessage" && f.Get("thread_ts") != "1700000001.000001" {
			t.Errorf("posted outside the mention's thread: %v\n%s", f, logs.String())
		}
	}
}

// slackPostRaw sends form[""] as a JSON body signed like Slack's.
func slackPostRaw(t *testing.T, base, path, secret string, form url.Values) {
	t.Helper()
	body := form.Get("")
	if code := slackSend(t, base, path, body, slacktesting.Sign(body, time.Now(), secret, "application/json")); code != http.StatusOK {
		t.Fatalf("%s: %d", path, code)
	}
}

// fix takes only issues fixloop filed: the fingerprint and repository come from its record, never from
// a URL or an issue's editable text; a malformed URL gets the usage before any confirmation.
func TestSlackFixOnlyFixloopsIssues(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.PutIssue(ctx, store.IssueRecord{Fingerprint: "abc123", Repo: "acme/shop", Number: 7, URL: "https://github.com/acme/shop/issues/7", State: "open"}); err != nil {
		t.Fatal(err)
	}
	if _, err := checkFix([]string{"file:///etc/passwd"}); err == nil {
		t.Error("a non-issue URL passed the check")
	}
	if what, err := checkFix([]string{"<https://github.com/acme/shop/issues/7>"}); err != nil || !strings.Contains(what, "issues/7") {
		t.Errorf("Slack's <url> form: %q %v", what, err)
	}
	env := slackEnv{store: st}
	if _, err := env.fix(ctx, []string{"https://github.com/acme/other/issues/7"}, func(string) {}); err == nil || !strings.Contains(err.Error(), "not an issue fixloop filed") {
		t.Errorf("someone else's issue: %v", err)
	}
	if _, err := env.fix(ctx, []string{"https://github.com/acme/shop/issues/7"}, func(string) {}); err == nil || !strings.Contains(err.Error(), "no fixer agent") {
		t.Errorf("fixloop's issue without a fixer: %v", err)
	}
}
