// Package scriptedllm is a local OpenAI-compatible chat-completions server that replays scripted steps.
// It stands in for a real LLM in tests and offline demos: OpenCode talks to it through its built-in
// @ai-sdk/openai-compatible provider exactly as it would talk to a hosted model.
//
// The server is stateless per request: the step to answer is the number of assistant messages already in
// the conversation, so OpenCode's own retries and restarts replay the same step. A request selects its
// script by a marker "[script:NAME]" anywhere in a user message (default script otherwise), which lets one
// OpenCode server run sessions with different behaviours side by side.
package scriptedllm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Failure makes a script answer every agent request with an error instead of its steps.
type Failure int

const (
	FailNone         Failure = iota
	FailServerError          // HTTP 500 on every request (OpenCode retries forever)
	FailMalformed            // HTTP 200 with an event stream that is not valid JSON
	FailUnauthorized         // HTTP 401 with an OpenAI-style error body
)

func (f Failure) String() string {
	switch f {
	case FailServerError:
		return "5xx"
	case FailMalformed:
		return "malformed"
	case FailUnauthorized:
		return "401"
	}
	return "none"
}

// ToolCall is one function call the model asks the client to run (OpenCode tools: bash, edit, read, ...).
type ToolCall struct {
	Name string
	Args map[string]any
}

// Step is one assistant turn: text, tool calls, or both.
type Step struct {
	Text      string
	ToolCalls []ToolCall
	// Delay holds the answer back (e.g. to keep a session busy while a test kills the caller).
	Delay time.Duration
	// Gate, when non-nil, holds the answer until the channel is closed or the request is cancelled.
	Gate <-chan struct{}
}

// Script is a named sequence of steps. After the last step the server answers with FinalText.
type Script struct {
	Name      string
	Steps     []Step
	Failure   Failure
	FinalText string // default "Done."
}

// Request describes one chat-completions call the server answered, for tests to observe.
type Request struct {
	Script   string
	Step     int  // index into Script.Steps (len(Steps) or more = after the script)
	Title    bool // no tools offered: a title/summary request
	Failure  Failure
	Messages int
	Time     time.Time
}

// Server is the scripted LLM. Create with New, then Start (or mount it as an http.Handler).
type Server struct {
	mu       sync.Mutex
	scripts  map[string]*Script
	requests []Request
	notify   []chan Request
	// Title is what title requests get (OpenCode names sessions with a tool-less request).
	Title string

	ln  net.Listener
	srv *http.Server
	URL string // base URL including /v1, set by Start
}

var scriptMarker = regexp.MustCompile(`\[script:([A-Za-z0-9_.-]+)\]`)

// New returns a server with the given scripts; a script named "" is the default.
func New(scripts ...Script) *Server {
	s := &Server{scripts: map[string]*Script{}, Title: "Fix seeded bug"}
	for i := range scripts {
		s.SetScript(scripts[i])
	}
	return s
}

// SetScript adds or replaces a script.
func (s *Server) SetScript(sc Script) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := sc
	s.scripts[sc.Name] = &c
}

// Start listens on 127.0.0.1 (random port) and serves until Close.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("scripted LLM: listen on 127.0.0.1: %w", err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.URL = "http://" + ln.Addr().String() + "/v1"
	go func() { _ = s.srv.Serve(ln) }()
	return nil
}

// Close stops the listener and any in-flight answers.
func (s *Server) Close() {
	if s.srv != nil {
		_ = s.srv.Close()
	}
}

// Requests returns every request answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// RequestsFor returns the agent (non-title) requests answered for one script.
func (s *Server) RequestsFor(script string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Script == script && !r.Title {
			out = append(out, r)
		}
	}
	return out
}

// Subscribe returns a channel receiving every later request (buffered; slow readers drop).
func (s *Server) Subscribe() <-chan Request {
	ch := make(chan Request, 256)
	s.mu.Lock()
	s.notify = append(s.notify, ch)
	s.mu.Unlock()
	return ch
}

// chatRequest is the subset of the OpenAI chat-completions request the server reads.
type chatRequest struct {
	Model    string            `json:"model"`
	Messages []json.RawMessage `json:"messages"`
	Tools    []json.RawMessage `json:"tools"`
	Stream   bool              `json:"stream"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// text flattens a message content that is either a string or an array of {type:"text",text} parts.
func (m chatMessage) text() string {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(m.Content, &parts) == nil {
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(p.Text)
			b.WriteByte('\n')
		}
		return b.String()
	}
	return ""
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/models"):
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{map[string]any{"id": "fake-model", "object": "model"}}})
		return
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/chat/completions"):
	default:
		writeError(w, http.StatusNotFound, "not_found", "scripted LLM serves POST /v1/chat/completions only")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "read body: "+err.Error())
		return
	}
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "body is not JSON: "+err.Error())
		return
	}
	name, assistants := scriptOf(req)
	script, title := s.scriptNamed(name)

	rec := Request{Script: name, Step: assistants, Title: len(req.Tools) == 0, Messages: len(req.Messages), Time: time.Now()}
	if !rec.Title {
		rec.Failure = script.Failure
	}
	s.record(rec)

	if rec.Title {
		s.stream(w, r, req, Step{Text: title}, req.Stream)
		return
	}
	if failScripted(w, script.Failure) {
		return
	}
	step := Step{Text: script.FinalText}
	if step.Text == "" {
		step.Text = "Done."
	}
	if assistants < len(script.Steps) {
		step = script.Steps[assistants]
	}
	if !waitStep(r.Context(), step) {
		return
	}
	s.stream(w, r, req, step, req.Stream)
}

// scriptOf finds the script a conversation names (its first user message's marker) and how many
// assistant turns it already has: that count is the step to answer with.
func scriptOf(req chatRequest) (name string, assistants int) {
	for _, raw := range req.Messages {
		var m chatMessage
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		switch m.Role {
		case "assistant":
			assistants++
		case "user":
			if name == "" {
				if sm := scriptMarker.FindStringSubmatch(m.text()); sm != nil {
					name = sm[1]
				}
			}
		}
	}
	return name, assistants
}

// scriptNamed copies the named script (else the default one, else none) and the title to answer with.
func (s *Server) scriptNamed(name string) (Script, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := s.scripts[name]
	if sc == nil {
		sc = s.scripts[""]
	}
	var script Script
	if sc != nil {
		script = *sc
	}
	return script, s.Title
}

// failScripted answers with the scripted upstream failure, if any; true when it did.
func failScripted(w http.ResponseWriter, f Failure) bool {
	switch f {
	case FailServerError:
		writeError(w, http.StatusInternalServerError, "server_error", "scripted upstream failure (5xx forever)")
	case FailUnauthorized:
		writeError(w, http.StatusUnauthorized, "invalid_api_key", "Incorrect API key provided (scripted 401)")
	case FailMalformed:
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "data: {\"id\":\"chatcmpl-bad\",\"choices\":[{\"delta\":{\"content\":\"half\n\ndata: this is not json\n\n")
	default:
		return false
	}
	return true
}

// waitStep holds the step back for its delay and until its gate opens; false when the request ended first.
func waitStep(ctx context.Context, step Step) bool {
	if step.Delay > 0 {
		select {
		case <-time.After(step.Delay):
		case <-ctx.Done():
			return false
		}
	}
	if step.Gate != nil {
		select {
		case <-step.Gate:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

func (s *Server) record(rec Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, rec)
	for _, ch := range s.notify {
		select {
		case ch <- rec:
		default:
		}
	}
}

// stream writes one assistant turn as OpenAI chat.completion.chunk events: role chunk, content and/or
// tool_calls chunks, a final chunk with finish_reason and usage, then [DONE].
func (s *Server) stream(w http.ResponseWriter, _ *http.Request, req chatRequest, step Step, streaming bool) {
	id := fmt.Sprintf("chatcmpl-%d", time.Now().UnixNano())
	created := time.Now().Unix()
	model := req.Model
	if model == "" {
		model = "fake-model"
	}
	var calls []map[string]any
	for i, tc := range step.ToolCalls {
		args, _ := json.Marshal(tc.Args)
		if tc.Args == nil {
			args = []byte("{}")
		}
		calls = append(calls, map[string]any{
			"index": i, "id": fmt.Sprintf("call_%d_%d", created, i), "type": "function",
			"function": map[string]any{"name": tc.Name, "arguments": string(args)},
		})
	}
	finish := "stop"
	if len(calls) > 0 {
		finish = "tool_calls"
	}
	usage := map[string]any{"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}

	if !streaming {
		msg := map[string]any{"role": "assistant", "content": step.Text}
		if len(calls) > 0 {
			msg["tool_calls"] = calls
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"id": id, "object": "chat.completion", "created": created, "model": model,
			"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}},
			"usage":   usage,
		})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	chunk := func(delta map[string]any, finishReason any, withUsage bool) {
		c := map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finishReason}},
		}
		if withUsage {
			c["usage"] = usage
		}
		b, _ := json.Marshal(c)
		fmt.Fprintf(w, "data: %s\n\n", b)
		if flusher != nil {
			flusher.Flush()
		}
	}
	chunk(map[string]any{"role": "assistant", "content": ""}, nil, false)
	if step.Text != "" {
		chunk(map[string]any{"content": step.Text}, nil, false)
	}
	if len(calls) > 0 {
		chunk(map[string]any{"tool_calls": calls}, nil, false)
	}
	chunk(map[string]any{}, finish, true)
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
	if flusher != nil {
		flusher.Flush()
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, typ, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": typ}})
}
