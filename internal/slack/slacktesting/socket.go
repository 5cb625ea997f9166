package slacktesting

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Socket is Slack's side of Socket Mode: apps.connections.open on the recorder (checked for the app
// token) hands out a websocket URL; on it Socket says hello, sends envelopes and records the acks.
type Socket struct {
	srv   *httptest.Server
	conns chan *websocket.Conn
	mu    sync.Mutex
	acks  map[string]json.RawMessage
	acked chan string
	opens int
}

// SocketMode serves Socket Mode to clients presenting appToken (xapp-...); others get invalid_auth.
func (r *Recorder) SocketMode(t testing.TB, appToken string) *Socket {
	t.Helper()
	s := &Socket{conns: make(chan *websocket.Conn, 4), acks: map[string]json.RawMessage{}, acked: make(chan string, 64)}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }} // slack-go sends Slack's own Origin
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		c, err := up.Upgrade(w, req, nil)
		if err != nil {
			return
		}
		_ = c.WriteJSON(map[string]any{"type": "hello", "num_connections": 1})
		s.conns <- c
		s.readAcks(c)
	}))
	t.Cleanup(s.srv.Close)
	r.mu.Lock()
	r.connOpen = func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Authorization") != "Bearer "+appToken {
			writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
			return
		}
		s.mu.Lock()
		s.opens++
		s.mu.Unlock()
		writeJSON(w, map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/link"})
	}
	r.mu.Unlock()
	return s
}

// readAcks records every ack the client writes until the connection closes.
func (s *Socket) readAcks(c *websocket.Conn) {
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
}

// Opens is how many times a client was handed a websocket URL.
func (s *Socket) Opens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opens
}

// Conn waits up to limit for a client to connect and returns its connection.
func (s *Socket) Conn(t testing.TB, limit time.Duration) *websocket.Conn {
	t.Helper()
	select {
	case c := <-s.conns:
		return c
	case <-time.After(limit):
		t.Fatalf("no Socket Mode client connected within %s", limit)
		return nil
	}
}

// Send writes one envelope (type slash_commands, interactive or events_api) on c and waits up to 30 s
// for its ack, whose payload it returns (a slash command's immediate answer, else null).
func (s *Socket) Send(t testing.TB, c *websocket.Conn, envelopeID, typ string, payload any) json.RawMessage {
	t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]any{"envelope_id": envelopeID, "type": typ, "payload": json.RawMessage(raw), "accepts_response_payload": typ == "slash_commands"}
	if err := c.WriteJSON(env); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case got := <-s.acked:
			if got == envelopeID {
				s.mu.Lock()
				defer s.mu.Unlock()
				return s.acks[envelopeID]
			}
		case <-timeout:
			t.Fatalf("envelope %s not acked within 30 s", envelopeID)
		}
	}
}

// Disconnect does what Slack does every few hours to each connection: it says so
// ({"type":"disconnect","reason":"refresh_requested"}) and closes it; the client must open a new one.
func (s *Socket) Disconnect(t testing.TB, c *websocket.Conn) {
	t.Helper()
	_ = c.WriteJSON(map[string]any{"type": "disconnect", "reason": "refresh_requested", "debug_info": map[string]any{"host": "slacktesting"}})
	_ = c.Close()
}
