package slack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
)

// socketServer speaks Socket Mode's side: apps.connections.open (checked for the app token) hands out a
// websocket URL; on it the server says hello, sends envelopes and records the acks.
type socketServer struct {
	srv   *httptest.Server
	conns chan *websocket.Conn
	mu    sync.Mutex
	acks  map[string]json.RawMessage
	acked chan string
}

func newSocketServer(t *testing.T, api *slackAPI) *socketServer {
	t.Helper()
	s := &socketServer{conns: make(chan *websocket.Conn, 1), acks: map[string]json.RawMessage{}, acked: make(chan string, 16)}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }} // slack-go sends Slack's own Origin
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		_ = c.WriteJSON(map[string]any{"type": "hello", "num_connections": 1})
		s.conns <- c
		for {
			var ack struct {
				EnvelopeID string          `json:"envelope_id"`
				Payload    json.RawMessage `json:"payload"`
			}
			if err := c.ReadJSON(&ack); err != nil {
				return
			}
			s.mu.Lock()
			s.acks[ack.EnvelopeID] = ack.Payload
			s.mu.Unlock()
			s.acked <- ack.EnvelopeID
		}
	}))
	t.Cleanup(s.srv.Close)
	api.connOpen = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer xapp-test" {
			_, _ = w.Write([]byte(`{"ok":false,"error":"invalid_auth"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/link"})
	}
	return s
}

// send writes one envelope and waits for its ack.
func (s *socketServer) send(t *testing.T, c *websocket.Conn, id, typ string, payload any) json.RawMessage {
	t.Helper()
	raw, _ := json.Marshal(payload)
	if err := c.WriteJSON(map[string]any{"envelope_id": id, "type": typ, "payload": json.RawMessage(raw), "accepts_response_payload": typ == "slash_commands"}); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case got := <-s.acked:
			if got == id {
				s.mu.Lock()
				defer s.mu.Unlock()
				return s.acks[id]
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("envelope %s not acked", id)
		}
	}
}

// Over Socket Mode a slash command, a mention and a confirmation press each get their ack and the same
// handling as over HTTP; a resent envelope is handled once.
func TestSocketMode(t *testing.T) {
	api := newSlackAPI(t)
	ss := newSocketServer(t, api)
	var runs, turns atomic.Int32
	b := &Bridge{Client: slack.New("xoxb-test", slack.OptionAPIURL(api.srv.GetAPIURL()), slack.OptionAppLevelToken("xapp-test")),
		AllowedUsers: []string{"U9"},
		Commands: map[string]Command{"status": func(_ context.Context, args []string, _ func(string)) (*Reply, error) {
			return &Reply{Text: "status of " + args[0]}, nil
		}},
		Writes: map[string]Write{"abort": {Action: "abort_rollout", Check: func(a []string) (string, error) { return "abort rollout " + a[0], nil },
			Run: func(context.Context, []string, func(string)) (*Reply, error) {
				runs.Add(1)
				return &Reply{Text: "aborted"}, nil
			}}},
		Converse: func(_ context.Context, in Turn, _ func(string)) (*Turn, error) {
			turns.Add(1)
			return &Turn{Text: "answer to " + in.Text}, nil
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.RunSocketMode(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("socket mode ended with %v", err)
		}
	}()
	var c *websocket.Conn
	select {
	case c = <-ss.conns:
	case <-time.After(30 * time.Second):
		t.Fatal("socket mode never connected")
	}
	ack := ss.send(t, c, "env-1", "slash_commands", map[string]any{"command": "/fixloop", "text": "status shop/web", "user_id": "U1", "channel_id": "C1"})
	if !strings.Contains(string(ack), "working on it") {
		t.Errorf("slash command ack %s", ack)
	}
	ss.send(t, c, "env-1", "slash_commands", map[string]any{"command": "/fixloop", "text": "status shop/web", "user_id": "U1", "channel_id": "C1"}) // resent
	ss.send(t, c, "env-2", "events_api", json.RawMessage(eventJSON("Ev9", `{"type":"app_mention","user":"U1","text":"<@UBOT> how is shop?","ts":"1700000005.000001","channel":"C1"}`)))
	ss.send(t, c, "env-3", "slash_commands", map[string]any{"command": "/fixloop", "text": "abort shop/web", "user_id": "U1", "channel_id": "C1"})
	b.Wait()
	var conf url.Values
	for _, p := range api.of("chat.postMessage") {
		if strings.Contains(p.Get("blocks"), ActionConfirm) {
			conf = p
		}
	}
	var cb map[string]any
	_ = json.Unmarshal([]byte(mustQueryPayload(press("U9", ActionConfirm, button(t, conf, ActionConfirm), "1700000000.100099"))), &cb)
	ss.send(t, c, "env-4", "interactive", cb)
	b.Wait()
	txt := api.text()
	if !strings.Contains(txt, "status of shop/web") || strings.Count(txt, "asked: /fixloop status") != 1 {
		t.Errorf("status over Socket Mode answered %d times: %s", strings.Count(txt, "asked: /fixloop status"), txt)
	}
	if turns.Load() != 1 || !strings.Contains(txt, "answer to how is shop?") {
		t.Errorf("mention over Socket Mode: %d turns; %s", turns.Load(), txt)
	}
	if runs.Load() != 1 || !strings.Contains(txt, "<@U9> confirmed *abort rollout shop/web*: aborted") {
		t.Errorf("confirmed abort over Socket Mode ran %d times: %s", runs.Load(), txt)
	}
}

func mustQueryPayload(form string) string {
	v, _ := urlParse(form)
	return v
}

func urlParse(form string) (string, error) {
	vals, err := url.ParseQuery(form)
	return vals.Get("payload"), err
}
