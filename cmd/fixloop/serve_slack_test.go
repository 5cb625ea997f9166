package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/fixloop/fixloop/internal/config"
)

// On a server that requires bearer tokens, Slack's signed requests reach the bridge and unsigned ones
// are refused; the answer is posted to the Slack Web API (slacktest) in a thread.
func TestServeSlackCommand(t *testing.T) {
	var mu sync.Mutex
	var posted []url.Values
	api := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			mu.Lock()
			posted = append(posted, r.Form)
			mu.Unlock()
			_, _ = w.Write([]byte(`{"ok":true,"channel":"C1","ts":"1700000000.000100"}`))
		})
		c.Handle("/chat.update", func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			mu.Lock()
			posted = append(posted, r.Form)
			mu.Unlock()
			_, _ = w.Write([]byte(`{"ok":true,"channel":"C1","ts":"1700000000.000100"}`))
		})
	})
	api.Start()
	defer api.Stop()
	const secret = "serve-slack-secret"
	s := newAuthServer(t, func(c *config.Config) {
		c.Slack = config.Slack{BotToken: "xoxb-test", SigningSecret: secret, APIURL: api.GetAPIURL()}
	})
	body := url.Values{"command": {"/fixloop"}, "text": {"analyze shop/web"}, "channel_id": {"C1"}, "user_id": {"U1"}}.Encode()
	post := func(key string, path ...string) int {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		mac := hmac.New(sha256.New, []byte(key))
		mac.Write([]byte("v0:" + ts + ":" + body))
		req, _ := http.NewRequest("POST", s.base+append(path, "/slack/commands")[0], strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
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
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		seen := append([]url.Values(nil), posted...)
		mu.Unlock()
		if n := len(seen); n >= 3 && !strings.HasPrefix(seen[n-1].Get("text"), "⏳") {
			last := seen[n-1]
			if seen[1].Get("thread_ts") != "1700000000.000100" || last.Get("ts") != "1700000000.000100" || !strings.Contains(last.Get("text"), "shop/web") {
				t.Fatalf("answer %v not edited into the thread's working message", seen)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing answered in Slack (%d posts)", len(seen))
		}
		time.Sleep(20 * time.Millisecond) // polling the recorded posts: the answer is asynchronous
	}
}
