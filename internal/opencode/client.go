// Package opencode drives an OpenCode server (`opencode serve`): sessions in a working directory,
// asynchronous prompts, the /event stream, status, abort and messages. The typed SDK
// (github.com/sst/opencode-sdk-go) is used where its late-2025 API still matches the server; newer
// endpoints (prompt_async, /session/status, /global/health) and event types go over plain HTTP.
package opencode

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	sdk "github.com/sst/opencode-sdk-go"
	"github.com/sst/opencode-sdk-go/option"

	"github.com/fixloop/fixloop/internal/telemetry"
)

// API is what the fixer needs from an OpenCode server. Every call names the working directory: one
// server hosts sessions for many clones, and OpenCode scopes sessions and events by directory.
type API interface {
	Health(ctx context.Context) (Health, error)
	CreateSession(ctx context.Context, dir, title string) (Session, error)
	GetSession(ctx context.Context, dir, id string) (Session, error)
	PromptAsync(ctx context.Context, dir, id string, p Prompt) error
	Status(ctx context.Context, dir string) (map[string]SessionStatus, error)
	Abort(ctx context.Context, dir, id string) error
	Messages(ctx context.Context, dir, id string) ([]Message, error)
	Events(ctx context.Context, dir string) (*EventStream, error)
}

// Health is GET /global/health.
type Health struct {
	Healthy bool   `json:"healthy"`
	Version string `json:"version"`
}

// Session is the part of an OpenCode session fixloop keeps.
type Session struct {
	ID        string
	Directory string
	Title     string
	Created   time.Time
}

// SessionStatus is one entry of GET /session/status: idle, busy, or retry (LLM call failing; OpenCode
// retries with backoff forever, so the caller must time out).
type SessionStatus struct {
	Type    string `json:"type"`
	Attempt int    `json:"attempt,omitempty"`
	Message string `json:"message,omitempty"`
	Next    int64  `json:"next,omitempty"`
}

// Prompt is the body of a prompt: text, and optionally the model to use (default: the server's).
type Prompt struct {
	Text       string
	ProviderID string
	ModelID    string
	Agent      string
	System     string
}

// Message is one message of a session with its parts flattened to what a caller reports.
type Message struct {
	ID        string
	Role      string // user | assistant
	Error     string // assistant error (provider auth, API error, aborted, ...), "" if none
	Completed bool
	Finish    string
	Parts     []Part
}

// Text joins the message's text parts.
func (m Message) Text() string {
	var b strings.Builder
	for _, p := range m.Parts {
		if p.Type == "text" && p.Text != "" {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// Part is one message part. Tool parts carry Tool, Status (pending|running|completed|error), Title,
// Input and Output.
type Part struct {
	ID     string
	Type   string // text | tool | step-start | step-finish | reasoning | patch | file | ...
	Text   string
	Tool   string
	CallID string
	Status string
	Title  string
	Input  json.RawMessage
	Output string
	Error  string
	Files  []string // patch parts: files the step changed
}

// Client talks to one OpenCode server.
type Client struct {
	base string
	http *http.Client // for plain calls; bounded by Timeout
	sse  *http.Client // for the event stream; no overall timeout
	sdk  *sdk.Client
	// Timeout bounds each non-streaming call.
	Timeout time.Duration
}

// NewClient returns a client for the server at baseURL (e.g. http://127.0.0.1:4096).
func NewClient(baseURL string) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("opencode URL %q is not an absolute http(s) URL", baseURL)
	}
	base := u.String()
	c := &Client{
		base:    base,
		http:    &http.Client{Timeout: 60 * time.Second, Transport: telemetry.Transport(nil, "opencode")},
		sse:     &http.Client{}, // not traced: one span per event stream would last as long as the session
		Timeout: 60 * time.Second,
	}
	c.sdk = sdk.NewClient(option.WithBaseURL(base+"/"), option.WithHTTPClient(c.http), option.WithMaxRetries(1))
	return c, nil
}

// BaseURL returns the server URL.
func (c *Client) BaseURL() string { return c.base }

func (c *Client) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.Timeout)
}

func (c *Client) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var apiErr *sdk.Error
	if errors.As(err, &apiErr) {
		return fmt.Errorf("opencode %s at %s: HTTP %d: %s", op, c.base, apiErr.StatusCode, truncate(strings.TrimSpace(apiErr.JSON.RawJSON()), 500))
	}
	return fmt.Errorf("opencode %s at %s: %w (is `opencode serve` running there?)", op, c.base, err)
}

// do sends a plain JSON request; out may be nil. A 204 or empty body leaves out untouched.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, truncate(strings.TrimSpace(string(raw)), 500))
	}
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode %s %s response: %w", method, path, err)
	}
	return nil
}

func dirQuery(dir string) url.Values {
	if dir == "" {
		return nil
	}
	return url.Values{"directory": {dir}}
}

// Health checks GET /global/health.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	if err := c.do(ctx, http.MethodGet, "/global/health", nil, nil, &h); err != nil {
		return h, c.wrap("health", err)
	}
	if !h.Healthy {
		return h, fmt.Errorf("opencode at %s reports unhealthy (version %s)", c.base, h.Version)
	}
	return h, nil
}

// CreateSession creates a session whose working directory is dir (must exist; ideally a git clone).
func (c *Client) CreateSession(ctx context.Context, dir, title string) (Session, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	p := sdk.SessionNewParams{}
	if dir != "" {
		p.Directory = sdk.F(dir)
	}
	if title != "" {
		p.Title = sdk.F(title)
	}
	s, err := c.sdk.Session.New(ctx, p)
	if err != nil {
		return Session{}, c.wrap("create session", err)
	}
	return fromSDKSession(s), nil
}

// GetSession returns one session; a missing session is an error wrapping ErrNotFound.
func (c *Client) GetSession(ctx context.Context, dir, id string) (Session, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	p := sdk.SessionGetParams{}
	if dir != "" {
		p.Directory = sdk.F(dir)
	}
	s, err := c.sdk.Session.Get(ctx, id, p)
	if err != nil {
		var apiErr *sdk.Error
		if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound {
			return Session{}, fmt.Errorf("opencode session %s: %w", id, ErrNotFound)
		}
		return Session{}, c.wrap("get session "+id, err)
	}
	return fromSDKSession(s), nil
}

// ErrNotFound marks a session the server does not know (e.g. its data directory was wiped).
var ErrNotFound = errors.New("not found")

func fromSDKSession(s *sdk.Session) Session {
	return Session{ID: s.ID, Directory: s.Directory, Title: s.Title, Created: time.UnixMilli(int64(s.Time.Created))}
}

// PromptAsync queues a prompt (POST /session/{id}/prompt_async, 204) and returns at once; progress and
// completion arrive on the event stream.
func (c *Client) PromptAsync(ctx context.Context, dir, id string, p Prompt) error {
	body := map[string]any{"parts": []any{map[string]any{"type": "text", "text": p.Text}}}
	if p.ProviderID != "" && p.ModelID != "" {
		body["model"] = map[string]any{"providerID": p.ProviderID, "modelID": p.ModelID}
	}
	if p.Agent != "" {
		body["agent"] = p.Agent
	}
	if p.System != "" {
		body["system"] = p.System
	}
	if err := c.do(ctx, http.MethodPost, "/session/"+url.PathEscape(id)+"/prompt_async", dirQuery(dir), body, nil); err != nil {
		return c.wrap("prompt session "+id, err)
	}
	return nil
}

// Status returns the status of the sessions the server is working on (idle sessions may be absent).
func (c *Client) Status(ctx context.Context, dir string) (map[string]SessionStatus, error) {
	out := map[string]SessionStatus{}
	if err := c.do(ctx, http.MethodGet, "/session/status", dirQuery(dir), nil, &out); err != nil {
		return nil, c.wrap("session status", err)
	}
	return out, nil
}

// Abort stops a session's current work (POST /session/{id}/abort).
func (c *Client) Abort(ctx context.Context, dir, id string) error {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	p := sdk.SessionAbortParams{}
	if dir != "" {
		p.Directory = sdk.F(dir)
	}
	if _, err := c.sdk.Session.Abort(ctx, id, p); err != nil {
		return c.wrap("abort session "+id, err)
	}
	return nil
}

// Messages returns the session's messages, oldest first. Parsed from the raw JSON: the server has part
// types the SDK's unions do not know.
func (c *Client) Messages(ctx context.Context, dir, id string) ([]Message, error) {
	var raw []rawMessage
	if err := c.do(ctx, http.MethodGet, "/session/"+url.PathEscape(id)+"/message", dirQuery(dir), nil, &raw); err != nil {
		return nil, c.wrap("messages of session "+id, err)
	}
	out := make([]Message, 0, len(raw))
	for _, m := range raw {
		out = append(out, m.convert())
	}
	return out, nil
}

type rawMessage struct {
	Info struct {
		ID     string          `json:"id"`
		Role   string          `json:"role"`
		Error  json.RawMessage `json:"error"`
		Finish string          `json:"finish"`
		Time   struct {
			Completed int64 `json:"completed"`
		} `json:"time"`
	} `json:"info"`
	Parts []rawPart `json:"parts"`
}

type rawPart struct {
	ID     string   `json:"id"`
	Type   string   `json:"type"`
	Text   string   `json:"text"`
	Tool   string   `json:"tool"`
	CallID string   `json:"callID"`
	Files  []string `json:"files"`
	State  struct {
		Status string          `json:"status"`
		Title  string          `json:"title"`
		Input  json.RawMessage `json:"input"`
		Output string          `json:"output"`
		Error  string          `json:"error"`
	} `json:"state"`
}

func (p rawPart) convert() Part {
	return Part{ID: p.ID, Type: p.Type, Text: p.Text, Tool: p.Tool, CallID: p.CallID, Status: p.State.Status,
		Title: p.State.Title, Input: p.State.Input, Output: p.State.Output, Error: p.State.Error, Files: p.Files}
}

func (m rawMessage) convert() Message {
	out := Message{ID: m.Info.ID, Role: m.Info.Role, Completed: m.Info.Time.Completed > 0, Finish: m.Info.Finish,
		Error: errorText(m.Info.Error)}
	for _, p := range m.Parts {
		out.Parts = append(out.Parts, p.convert())
	}
	return out
}

// errorText renders an OpenCode error object ({name, data:{message, statusCode, ...}}) as one line.
func errorText(raw json.RawMessage) string {
	if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
		return ""
	}
	var e struct {
		Name string `json:"name"`
		Data struct {
			Message    string `json:"message"`
			StatusCode int    `json:"statusCode"`
			ProviderID string `json:"providerID"`
		} `json:"data"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return truncate(string(raw), 300)
	}
	s := e.Name
	if e.Data.StatusCode != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Data.StatusCode)
	}
	if e.Data.ProviderID != "" {
		s += " from provider " + e.Data.ProviderID
	}
	if e.Data.Message != "" {
		s += ": " + e.Data.Message
	}
	if s == "" {
		s = truncate(string(raw), 300)
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
