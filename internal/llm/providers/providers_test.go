package providers

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/fixloop/fixloop/internal/llm"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var verdictSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"verdict":    map[string]any{"type": "string", "enum": []any{"promote", "abort", "inconclusive"}},
		"confidence": map[string]any{"type": "integer"},
	},
	"required": []any{"verdict", "confidence"},
}

// step is one scripted answer of a fake provider endpoint.
type step struct {
	status  int
	headers map[string]string
	body    string
}

// scripted serves the steps in order (the last one repeats) and records each request body.
type scripted struct {
	steps  []step
	calls  atomic.Int32
	bodies chan map[string]any
	header chan http.Header
	path   chan string
}

func newScripted(steps ...step) *scripted {
	return &scripted{steps: steps, bodies: make(chan map[string]any, 16), header: make(chan http.Header, 16), path: make(chan string, 16)}
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(s.calls.Add(1)) - 1
	raw, _ := io.ReadAll(r.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	s.bodies <- m
	s.header <- r.Header.Clone()
	s.path <- r.Method + " " + r.URL.Path
	st := s.steps[min(n, len(s.steps)-1)]
	for k, v := range st.headers {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(st.status)
	io.WriteString(w, st.body)
}

func geminiOK(text string) string {
	b, _ := json.Marshal(map[string]any{
		"candidates": []any{map[string]any{
			"content":      map[string]any{"role": "model", "parts": []any{map[string]any{"text": text}}},
			"finishReason": "STOP",
		}},
		"usageMetadata": map[string]any{"promptTokenCount": 123, "candidatesTokenCount": 17, "totalTokenCount": 140},
		"modelVersion":  "gemini-test-001",
	})
	return string(b)
}

func openaiOK(text string) string {
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "test-model",
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": text}}},
		"usage": map[string]any{"prompt_tokens": 99, "completion_tokens": 11, "total_tokens": 110},
	})
	return string(b)
}

const geminiErr429 = `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}`
const geminiErr500 = `{"error":{"code":500,"message":"Internal error encountered.","status":"INTERNAL"}}`
const openaiErr429 = `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`
const openaiErr503 = `{"error":{"message":"The server is overloaded","type":"server_error"}}`

func testProvider(t *testing.T, kind string, srv *httptest.Server, tweak func(*llm.Config)) llm.Provider {
	t.Helper()
	c := llm.Config{Provider: kind, Model: "test-model", BaseURL: srv.URL, APIKey: "test-key",
		InitialBackoff: 10 * time.Millisecond, MaxAttempts: 3, Timeout: 5 * time.Second}
	if kind == "openai" {
		c.BaseURL = srv.URL + "/v1"
	}
	if tweak != nil {
		tweak(&c)
	}
	p, err := New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func request() llm.Request {
	temp := 0.0
	return llm.Request{System: "You judge canaries.", Prompt: "evidence here", Schema: verdictSchema, MaxOutputTokens: 256, Temperature: &temp}
}

func TestGeminiWireFormat(t *testing.T) {
	fake := newScripted(step{status: 200, body: geminiOK(`{"verdict":"abort","confidence":90}`)})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	p := testProvider(t, "gemini", srv, nil)
	got, err := p.Complete(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != `{"verdict":"abort","confidence":90}` || got.PromptTokens != 123 || got.OutputTokens != 17 || got.Model != "gemini-test-001" {
		t.Errorf("response = %+v", got)
	}
	if path := <-fake.path; path != "POST /v1beta/models/test-model:generateContent" {
		t.Errorf("path = %q", path)
	}
	if h := <-fake.header; h.Get("x-goog-api-key") != "test-key" {
		t.Errorf("api key header = %q", h.Get("x-goog-api-key"))
	}
	body := <-fake.bodies
	gc, _ := body["generationConfig"].(map[string]any)
	if gc["responseMimeType"] != "application/json" || gc["responseJsonSchema"] == nil || gc["maxOutputTokens"] != float64(256) {
		t.Errorf("generationConfig = %v", gc)
	}
	if si, _ := json.Marshal(body["systemInstruction"]); !strings.Contains(string(si), "You judge canaries.") {
		t.Errorf("systemInstruction = %s", si)
	}
	if c, _ := json.Marshal(body["contents"]); !strings.Contains(string(c), "evidence here") {
		t.Errorf("contents = %s", c)
	}
}

func TestOpenAIWireFormat(t *testing.T) {
	fake := newScripted(step{status: 200, body: openaiOK(`{"verdict":"promote","confidence":80}`)})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	p := testProvider(t, "openai", srv, nil)
	got, err := p.Complete(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != `{"verdict":"promote","confidence":80}` || got.PromptTokens != 99 || got.OutputTokens != 11 {
		t.Errorf("response = %+v", got)
	}
	if path := <-fake.path; path != "POST /v1/chat/completions" {
		t.Errorf("path = %q", path)
	}
	if h := <-fake.header; h.Get("Authorization") != "Bearer test-key" {
		t.Errorf("authorization = %q", h.Get("Authorization"))
	}
	body := <-fake.bodies
	rf, _ := body["response_format"].(map[string]any)
	js, _ := rf["json_schema"].(map[string]any)
	if rf["type"] != "json_schema" || js["name"] != "answer" || js["schema"] == nil {
		t.Errorf("response_format = %v", rf)
	}
	msgs, _ := body["messages"].([]any)
	if len(msgs) != 2 || body["model"] != "test-model" {
		t.Errorf("messages = %v model = %v", msgs, body["model"])
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name      string
		kind      string
		steps     []step
		wantCalls int32
		wantErr   string
		minWait   time.Duration
		tweak     func(*llm.Config)
	}{
		{"gemini 429 honours Retry-After", "gemini", []step{
			{status: 429, headers: map[string]string{"Retry-After": "1"}, body: geminiErr429},
			{status: 200, body: geminiOK(`{"verdict":"abort","confidence":1}`)},
		}, 2, "", 900 * time.Millisecond, nil},
		{"openai 429 honours Retry-After", "openai", []step{
			{status: 429, headers: map[string]string{"Retry-After": "1"}, body: openaiErr429},
			{status: 200, body: openaiOK(`{"verdict":"abort","confidence":1}`)},
		}, 2, "", 900 * time.Millisecond, nil},
		{"gemini 5xx then success", "gemini", []step{
			{status: 500, body: geminiErr500}, {status: 503, body: geminiErr500},
			{status: 200, body: geminiOK(`{"verdict":"abort","confidence":1}`)},
		}, 3, "", 0, nil},
		{"openai 5xx exhausts attempts", "openai", []step{{status: 503, body: openaiErr503}}, 3, "503", 0, nil},
		{"gemini persistent 500 exhausts attempts", "gemini", []step{{status: 500, body: geminiErr500}}, 3, "500", 0, nil},
		{"Retry-After beyond the cap is not waited for", "openai", []step{
			{status: 429, headers: map[string]string{"Retry-After": "3600"}, body: openaiErr429},
		}, 1, "429", 0, func(c *llm.Config) { c.MaxRetryWait = time.Second }},
		{"400 is not retried", "gemini", []step{
			{status: 400, body: `{"error":{"code":400,"message":"bad schema","status":"INVALID_ARGUMENT"}}`},
		}, 1, "bad schema", 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := newScripted(tc.steps...)
			srv := httptest.NewServer(fake)
			defer srv.Close()
			p := testProvider(t, tc.kind, srv, tc.tweak)
			start := time.Now()
			got, err := p.Complete(context.Background(), request())
			elapsed := time.Since(start)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error = %v, want one mentioning %q (response %+v)", err, tc.wantErr, got)
			}
			if n := fake.calls.Load(); n != tc.wantCalls {
				t.Errorf("server saw %d calls, want %d", n, tc.wantCalls)
			}
			if elapsed < tc.minWait {
				t.Errorf("retried after %v, Retry-After asked for %v", elapsed, tc.minWait)
			}
		})
	}
}

func TestMalformedAnswersAreErrorsOrText(t *testing.T) {
	// A non-JSON body from the provider is an error for both clients, never a silent empty answer.
	for _, kind := range []string{"gemini", "openai"} {
		t.Run(kind, func(t *testing.T) {
			fake := newScripted(step{status: 200, body: `{"candidates": [ this is not json`})
			srv := httptest.NewServer(fake)
			defer srv.Close()
			p := testProvider(t, kind, srv, nil)
			if got, err := p.Complete(context.Background(), request()); err == nil {
				t.Fatalf("malformed body gave no error: %+v", got)
			}
		})
	}
	// A well-formed envelope with no text is an error too.
	fake := newScripted(step{status: 200, body: `{"candidates":[{"content":{"role":"model","parts":[]},"finishReason":"SAFETY"}]}`})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	if _, err := testProvider(t, "gemini", srv, nil).Complete(context.Background(), request()); err == nil || !strings.Contains(err.Error(), "SAFETY") {
		t.Fatalf("empty candidate error = %v", err)
	}
}

func TestTokenBudget(t *testing.T) {
	fake := newScripted(step{status: 200, body: openaiOK("{}")})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	p := testProvider(t, "openai", srv, func(c *llm.Config) { c.MaxPromptTokens = 50 })
	req := request()
	req.Prompt = strings.Repeat("log line with words ", 100)
	_, err := p.Complete(context.Background(), req)
	if !errors.Is(err, llm.ErrPromptTooLarge) {
		t.Fatalf("err = %v, want ErrPromptTooLarge", err)
	}
	if fake.calls.Load() != 0 {
		t.Error("an over-budget prompt reached the server")
	}
	cut := llm.Truncate(req.Prompt, 40)
	if llm.EstimateTokens(cut) > 40 || !strings.HasSuffix(cut, "[truncated]") {
		t.Errorf("Truncate gave %d tokens: %q", llm.EstimateTokens(cut), cut)
	}
	if llm.Truncate("short", 40) != "short" {
		t.Error("Truncate changed a prompt within budget")
	}
	if got := llm.Truncate("héllo wörld ünïcode", 3); !strings.HasSuffix(got, "[truncated]") && got != "" {
		t.Errorf("Truncate = %q", got)
	}
}

func TestContextCancelStopsRetrying(t *testing.T) {
	fake := newScripted(step{status: 429, headers: map[string]string{"Retry-After": "20"}, body: openaiErr429})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	p := testProvider(t, "openai", srv, func(c *llm.Config) { c.MaxRetryWait = time.Minute })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := p.Complete(ctx, request()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func TestConfig(t *testing.T) {
	if p, err := New(llm.Config{Provider: "none"}); p != nil || err != nil {
		t.Errorf("none = %v, %v", p, err)
	}
	if _, err := New(llm.Config{Provider: "bogus"}); err == nil || !strings.Contains(err.Error(), "FIXLOOP_LLM") {
		t.Errorf("bogus provider error = %v", err)
	}
	if _, err := New(llm.Config{Provider: "gemini"}); err == nil || !strings.Contains(err.Error(), "GEMINI_API_KEY") {
		t.Errorf("missing key error = %v", err)
	}
}
