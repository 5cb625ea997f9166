package slacktesting

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
)

// Call is one Slack Web API call fixloop made.
type Call struct {
	Method string
	Form   url.Values
	// TS is the message the call posted or edited (what Slack answered as "ts"); "" for others.
	TS string
}

// Get is a form field of the call ("text", "channel", "thread_ts", "blocks", "user", ...).
func (c Call) Get(key string) string { return c.Form.Get(key) }

// recorded are the Web API methods fixloop uses; each answers as Slack does and is recorded.
var recorded = []string{"chat.postMessage", "chat.update", "chat.postEphemeral", "usergroups.users.list"}

// Recorder is slack-go's slacktest server answering the Web API methods fixloop uses and recording
// every call, in order. Message timestamps are unique per post; an edit answers its message's ts.
type Recorder struct {
	Server *slacktest.Server

	mu       sync.Mutex
	calls    []Call
	groups   map[string][]string // usergroups.users.list
	failures map[string]string   // method → Slack error it answers
	connOpen http.HandlerFunc    // apps.connections.open (Socket Mode)
}

// NewRecorder starts a recorder, stopped at the end of the test.
func NewRecorder(t testing.TB) *Recorder {
	t.Helper()
	r := &Recorder{groups: map[string][]string{}, failures: map[string]string{}}
	r.Server = slacktest.NewTestServer(func(c slacktest.Customize) {
		for _, m := range recorded {
			c.Handle("/"+m, r.record(m))
		}
		c.Handle("/apps.connections.open", func(w http.ResponseWriter, req *http.Request) {
			r.mu.Lock()
			open := r.connOpen
			r.mu.Unlock()
			if open == nil {
				writeJSON(w, map[string]any{"ok": false, "error": "not_allowed_token_type"})
				return
			}
			open(w, req)
		})
	})
	r.Server.Start()
	t.Cleanup(r.Server.Stop)
	return r
}

// URL is the Web API base URL to configure (--slack-api-url, slack.OptionAPIURL).
func (r *Recorder) URL() string { return r.Server.GetAPIURL() }

// Client is a bot client of the recorder.
func (r *Recorder) Client() *slack.Client {
	return slack.New("xoxb-test", slack.OptionAPIURL(r.URL()))
}

// SetGroup sets the members usergroups.users.list answers for user group id.
func (r *Recorder) SetGroup(id string, users ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.groups[id] = users
}

// Fail makes method answer Slack's error slackErr (e.g. "channel_not_found"); "" answers again.
func (r *Recorder) Fail(method, slackErr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures[method] = slackErr
}

func (r *Recorder) record(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		_ = req.ParseForm()
		r.mu.Lock()
		if e := r.failures[method]; e != "" {
			r.mu.Unlock()
			writeJSON(w, map[string]any{"ok": false, "error": e})
			return
		}
		call := Call{Method: method, Form: req.Form}
		ts := "1700000000." + strconv.Itoa(100001+len(r.calls))
		switch method {
		case "chat.update":
			call.TS = req.Form.Get("ts")
		case "chat.postMessage", "chat.postEphemeral":
			call.TS = ts
		}
		r.calls = append(r.calls, call)
		users := r.groups[req.Form.Get("usergroup")]
		r.mu.Unlock()
		switch method {
		case "usergroups.users.list":
			writeJSON(w, map[string]any{"ok": true, "users": users})
		case "chat.postEphemeral":
			writeJSON(w, map[string]any{"ok": true, "message_ts": ts})
		default:
			writeJSON(w, map[string]any{"ok": true, "channel": req.Form.Get("channel"), "ts": call.TS, "text": req.Form.Get("text")})
		}
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Calls is every call so far, in order.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

// Of is the forms of the calls of one method, in order.
func (r *Recorder) Of(method string) []url.Values {
	var out []url.Values
	for _, c := range r.Calls() {
		if c.Method == method {
			out = append(out, c.Form)
		}
	}
	return out
}

// Count is how many calls were made so far (a starting point for WaitFor).
func (r *Recorder) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

// Text is everything shown in Slack (posts, edits, ephemeral messages with their blocks), a line each.
func (r *Recorder) Text() string {
	var b strings.Builder
	for _, c := range r.Calls() {
		if c.Method == "usergroups.users.list" {
			continue
		}
		b.WriteString(c.Method + ": " + c.Get("text") + " " + c.Get("blocks") + "\n")
	}
	return b.String()
}

// WaitFor returns the first call from index from on that matches ok, and the index after it; it fails
// the test after limit. fixloop answers Slack asynchronously, so tests wait on what it posts.
func (r *Recorder) WaitFor(t testing.TB, from int, limit time.Duration, ok func(Call) bool) (Call, int) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		calls := r.Calls()
		for i := from; i < len(calls); i++ {
			if ok(calls[i]) {
				return calls[i], i + 1
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no such Slack call within %s; calls since #%d:\n%s", limit, from, describe(calls[min(from, len(calls)):]))
		}
		time.Sleep(50 * time.Millisecond) // polling what fixloop posted: its work is asynchronous
	}
}

func describe(calls []Call) string {
	var b strings.Builder
	for _, c := range calls {
		b.WriteString(c.Method + " ts=" + c.TS + " thread=" + c.Get("thread_ts") + ": " + c.Get("text") + "\n")
	}
	return b.String()
}
