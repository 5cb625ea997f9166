package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
)

const secret = "8f742231b10e8888abcd99yyyzzz85a5"

// posts records chat.postMessage calls received by slacktest's server.
type posts struct {
	mu   sync.Mutex
	msgs []url.Values
}

func (p *posts) handler(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	p.mu.Lock()
	p.msgs = append(p.msgs, r.Form)
	n := len(p.msgs)
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true,"channel":"` + r.Form.Get("channel") + `","ts":"1700000000.00000` + strconv.Itoa(n) + `"}`))
}

func (p *posts) all() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.msgs...)
}

func newBridge(t *testing.T, cmds map[string]Command) (*Bridge, *posts, *httptest.Server) {
	t.Helper()
	rec := &posts{}
	ts := slacktest.NewTestServer(func(c slacktest.Customize) { c.Handle("/chat.postMessage", rec.handler) })
	ts.Start()
	t.Cleanup(ts.Stop)
	b := &Bridge{SigningSecret: secret, Client: slack.New("xoxb-test", slack.OptionAPIURL(ts.GetAPIURL())), Commands: cmds}
	srv := httptest.NewServer(b.SlashHandler())
	t.Cleanup(srv.Close)
	return b, rec, srv
}

func sign(body string, at time.Time, key string) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte("v0:" + ts + ":" + body))
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	return h
}

func send(t *testing.T, srv *httptest.Server, body string, h http.Header) int {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(body))
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func slash(text string) string {
	return url.Values{"command": {"/fixloop"}, "text": {text}, "channel_id": {"C1"}, "user_id": {"U1"}, "team_id": {"T1"}}.Encode()
}

func TestRefusesForgedStaleAndReplayedRequests(t *testing.T) {
	ran := 0
	var mu sync.Mutex
	b, _, srv := newBridge(t, map[string]Command{"analyze": func(context.Context, []string) (string, error) {
		mu.Lock()
		ran++
		mu.Unlock()
		return "ok", nil
	}})
	body := slash("analyze shop/web")
	if code := send(t, srv, body, sign(body, time.Now(), "not-the-secret")); code != http.StatusUnauthorized {
		t.Errorf("bad signature: %d", code)
	}
	if code := send(t, srv, body, sign(body, time.Now().Add(-6*time.Minute), secret)); code != http.StatusUnauthorized {
		t.Errorf("stale timestamp: %d", code)
	}
	h := sign(body, time.Now(), secret)
	tampered := slash("abort shop/web")
	if code := send(t, srv, tampered, h); code != http.StatusUnauthorized {
		t.Errorf("body changed under a valid signature: %d", code)
	}
	if code := send(t, srv, body, h); code != http.StatusOK {
		t.Fatalf("valid request: %d", code)
	}
	if code := send(t, srv, body, h); code != http.StatusUnauthorized {
		t.Errorf("replayed request: %d", code)
	}
	b.Wait()
	if ran != 1 {
		t.Errorf("command ran %d times, want once", ran)
	}
}

func TestAnalyzePostsRedactedVerdictInThread(t *testing.T) {
	leak := "ghp_0123456789abcdefghijABCDEFGHIJ012345"
	b, rec, srv := newBridge(t, map[string]Command{"analyze": func(_ context.Context, args []string) (string, error) {
		return "verdict abort for " + args[0] + ": panic with token=" + leak, nil
	}})
	body := slash("analyze shop/web")
	if code := send(t, srv, body, sign(body, time.Now(), secret)); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	b.Wait()
	msgs := rec.all()
	if len(msgs) != 2 {
		t.Fatalf("%d messages posted, want the request and its answer: %v", len(msgs), msgs)
	}
	answer := msgs[1]
	if answer.Get("thread_ts") == "" || answer.Get("thread_ts") != "1700000000.000001" {
		t.Errorf("answer not in the request's thread: %v", answer)
	}
	if !strings.Contains(answer.Get("text"), "verdict abort for shop/web") || strings.Contains(answer.Get("text"), leak) {
		t.Errorf("answer %q: want the verdict with the token redacted", answer.Get("text"))
	}
}
