package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/slack/slacktesting"
)

const secret = "8f742231b10e8888abcd99yyyzzz85a5"

// newSlackAPI is the Slack Web API stand-in every bridge test posts to.
func newSlackAPI(t *testing.T) *slacktesting.Recorder { return slacktesting.NewRecorder(t) }

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

func slash(text, user string) string { return slacktesting.Slash(text, user).Encode() }

// press is the interactivity payload of user pressing button (action id, value) on message ts, a
// message in the thread the bridge tests answer in.
func press(user, actionID, value, ts string) string {
	return slacktesting.PressForm(user, actionID, value, ts, "1700000000.100001").Encode()
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
