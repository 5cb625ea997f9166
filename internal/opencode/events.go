package opencode

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Event is one server-sent event from GET /event, kept generic by its Type string: the server has event
// types (session.status, message.part.delta, session.diff, session.next.*) the SDK does not model.
type Event struct {
	Type       string          `json:"type"`
	Properties json.RawMessage `json:"properties"`
}

// SessionID returns properties.sessionID, or the session of an embedded part/info, or "".
func (e Event) SessionID() string {
	var p struct {
		SessionID string `json:"sessionID"`
		Info      struct {
			SessionID string `json:"sessionID"`
		} `json:"info"`
		Part struct {
			SessionID string `json:"sessionID"`
		} `json:"part"`
	}
	if json.Unmarshal(e.Properties, &p) != nil {
		return ""
	}
	switch {
	case p.SessionID != "":
		return p.SessionID
	case p.Part.SessionID != "":
		return p.Part.SessionID
	}
	return p.Info.SessionID
}

// Status decodes a session.status event.
func (e Event) Status() (SessionStatus, bool) {
	if e.Type != "session.status" {
		return SessionStatus{}, false
	}
	var p struct {
		Status SessionStatus `json:"status"`
	}
	if json.Unmarshal(e.Properties, &p) != nil {
		return SessionStatus{}, false
	}
	return p.Status, true
}

// Part decodes the part of a message.part.updated event.
func (e Event) Part() (Part, bool) {
	if e.Type != "message.part.updated" {
		return Part{}, false
	}
	var p struct {
		Part rawPart `json:"part"`
	}
	if json.Unmarshal(e.Properties, &p) != nil {
		return Part{}, false
	}
	return p.Part.convert(), true
}

// File returns the path of a file.edited event.
func (e Event) File() (string, bool) {
	if e.Type != "file.edited" {
		return "", false
	}
	var p struct {
		File string `json:"file"`
	}
	if json.Unmarshal(e.Properties, &p) != nil || p.File == "" {
		return "", false
	}
	return p.File, true
}

// Error returns the error text of a session.error event.
func (e Event) Error() (string, bool) {
	if e.Type != "session.error" {
		return "", false
	}
	var p struct {
		Error json.RawMessage `json:"error"`
	}
	_ = json.Unmarshal(e.Properties, &p)
	msg := errorText(p.Error)
	if msg == "" {
		msg = "unknown session error"
	}
	return msg, true
}

// EventStream reads GET /event. Next blocks until an event arrives, the stream ends, or ctx is done.
type EventStream struct {
	resp     *http.Response
	sc       *bufio.Scanner
	cur      Event
	err      error
	cancel   context.CancelFunc
	pushBack bool
}

// Events opens the event stream for the instance serving dir. The first event is server.connected,
// which Events consumes before returning, so a caller that subscribes and then acts sees every later event.
func (c *Client) Events(ctx context.Context, dir string) (*EventStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	u := c.base + "/event"
	if q := dirQuery(dir); q != nil {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	// The connection itself is bounded by ctx; only the wait for headers and greeting gets the call timeout.
	hdrTimer := time.AfterFunc(c.Timeout, cancel)
	resp, err := c.sse.Do(req)
	if err != nil {
		hdrTimer.Stop()
		cancel()
		return nil, c.wrap("event stream", err)
	}
	if resp.StatusCode != http.StatusOK {
		hdrTimer.Stop()
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("opencode event stream at %s: HTTP %d", c.base, resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 32<<20)
	s := &EventStream{resp: resp, sc: sc, cancel: cancel}
	ok := s.Next()
	hdrTimer.Stop()
	if ok && s.cur.Type != "server.connected" {
		// Not the usual greeting: keep it for the caller.
		s.pushBack = true
	}
	if s.err != nil {
		s.Close()
		return nil, c.wrap("event stream", s.err)
	}
	return s, nil
}

// Next advances to the next event. It returns false when the stream ends (see Err).
func (s *EventStream) Next() bool {
	if s.pushBack {
		s.pushBack = false
		return true
	}
	var data bytes.Buffer
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "":
			if data.Len() == 0 {
				continue
			}
			var ev Event
			if err := json.Unmarshal(data.Bytes(), &ev); err != nil {
				data.Reset()
				continue // one undecodable event must not end the stream
			}
			// Some server versions wrap events as {payload:{type,properties}}.
			if ev.Type == "" {
				var w struct {
					Payload Event `json:"payload"`
				}
				if json.Unmarshal(data.Bytes(), &w) == nil && w.Payload.Type != "" {
					ev = w.Payload
				}
			}
			s.cur = ev
			return true
		case strings.HasPrefix(line, "data:"):
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		default:
			// event:, id:, retry: and comments carry nothing we use.
		}
	}
	s.err = s.sc.Err()
	if s.err == nil {
		s.err = fmt.Errorf("opencode event stream closed by the server")
	}
	return false
}

// Event returns the current event.
func (s *EventStream) Event() Event { return s.cur }

// Err returns why the stream ended.
func (s *EventStream) Err() error { return s.err }

// Close ends the stream.
func (s *EventStream) Close() {
	s.cancel()
	if s.resp != nil {
		s.resp.Body.Close()
	}
}
