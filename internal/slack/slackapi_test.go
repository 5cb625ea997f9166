package slack

import (
	"context"
	"encoding/json"
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

	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/slack/slacktesting"
)

const secret = "8f742231b10e8888abcd99yyyzzz85a5"

// call is one Slack Web API call the bridge made.
type call struct {
	Method string
	Form   url.Values
}

// slackAPI is slack-go's slacktest server with the methods the bridge uses recording their calls.
type slackAPI struct {
	mu     sync.Mutex
	calls  []call
	groups map[string][]string // usergroups.users.list
	srv    *slacktest.Server
	// connOpen answers apps.connections.open (Socket Mode tests set it before connecting).
	connOpen http.HandlerFunc
}

func newSlackAPI(t *testing.T) *slackAPI {
	t.Helper()
	api := &slackAPI{groups: map[string][]string{}}
	api.srv = slacktest.NewTestServer(func(c slacktest.Customize) {
		for _, m := range []string{"chat.postMessage", "chat.update", "chat.postEphemeral", "usergroups.users.list"} {
			c.Handle("/"+m, api.record(m))
		}
		c.Handle("/apps.connections.open", func(w http.ResponseWriter, r *http.Request) {
			if api.connOpen == nil {
				http.NotFound(w, r)
				return
			}
			api.connOpen(w, r)
		})
	})
	api.srv.Start()
	t.Cleanup(api.srv.Stop)
	return api
}

func (a *slackAPI) record(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		a.mu.Lock()
		a.calls = append(a.calls, call{method, r.Form})
		n := len(a.calls)
		users := a.groups[r.Form.Get("usergroup")]
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		ts := "1700000000." + strconv.Itoa(100000+n)
		switch method {
		case "usergroups.users.list":
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "users": users})
		case "chat.update":
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": r.Form.Get("channel"), "ts": r.Form.Get("ts"), "text": r.Form.Get("text")})
		case "chat.postEphemeral":
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "message_ts": ts})
		default:
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": r.Form.Get("channel"), "ts": ts})
		}
	}
}

func (a *slackAPI) client() *slack.Client {
	return slack.New("xoxb-test", slack.OptionAPIURL(a.srv.GetAPIURL()))
}

// of returns the recorded calls of one method.
func (a *slackAPI) of(method string) []url.Values {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []url.Values
	for _, c := range a.calls {
		if c.Method == method {
			out = append(out, c.Form)
		}
	}
	return out
}

// text is everything the bridge showed in Slack (posts, edits, ephemeral messages) in order.
func (a *slackAPI) text() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var b strings.Builder
	for _, c := range a.calls {
		b.WriteString(c.Method + ": " + c.Form.Get("text") + " " + c.Form.Get("blocks") + "\n")
	}
	return b.String()
}

// memAudit is an auth.AuditStore in memory.
type memAudit struct {
	mu     sync.Mutex
	events []auth.AuditEvent
}

func (m *memAudit) PutKV(_ context.Context, _, _ string, v []byte) error {
	var ev auth.AuditEvent
	_ = json.Unmarshal(v, &ev)
	m.mu.Lock()
	m.events = append(m.events, ev)
	m.mu.Unlock()
	return nil
}

func (m *memAudit) all() []auth.AuditEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]auth.AuditEvent(nil), m.events...)
}

// serve mounts the bridge's HTTP endpoints as fixloop serve does.
func serve(t *testing.T, b *Bridge) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("POST /slack/commands", b.SlashHandler())
	mux.Handle("POST /slack/events", b.EventsHandler())
	mux.Handle("POST /slack/interactions", b.InteractionHandler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// formType is the content type of slash commands and interactivity payloads (Events API sends JSON and
// the bridge reads either).
const formType = "application/x-www-form-urlencoded"

// send posts body to path signed with h and returns the status and response body.
func send(t *testing.T, srv *httptest.Server, path, body string, h http.Header) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, sb.String()
}

func signedSend(t *testing.T, srv *httptest.Server, path, body string) int {
	t.Helper()
	code, _ := send(t, srv, path, body, slacktesting.Sign(body, time.Now(), secret, formType))
	return code
}

func slash(text, user string) string {
	return url.Values{"command": {"/fixloop"}, "text": {text}, "channel_id": {"C1"}, "user_id": {user}, "team_id": {"T1"}}.Encode()
}

// press is the interactivity payload of user pressing button (action id, value) on message ts.
func press(user, actionID, value, ts string) string {
	payload, _ := json.Marshal(map[string]any{
		"type":    "block_actions",
		"user":    map[string]any{"id": user},
		"channel": map[string]any{"id": "C1"},
		"message": map[string]any{"ts": ts, "thread_ts": "1700000000.100001"},
		"actions": []map[string]any{{"block_id": "b1", "action_id": actionID, "value": value, "type": "button"}},
	})
	return url.Values{"payload": {string(payload)}}.Encode()
}

// button finds the value of the button with actionID in the blocks of a recorded call.
func button(t *testing.T, form url.Values, actionID string) string {
	t.Helper()
	if v := slacktesting.ButtonValue(form, actionID); v != "" {
		return v
	}
	t.Fatalf("no %s button in %v", actionID, form)
	return ""
}

// posts records chat.postMessage calls (the notifier's tests use it).
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
