package providers_test

import (
	"context"
	"encoding/json"
	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/llm/providers"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fixloop/fixloop/internal/llm"
)

// fakeLLM is a local server speaking the OpenAI chat-completions or Gemini generateContent wire
// format; answer decides each reply from the prompt it received.
type fakeLLM struct {
	kind    string // openai | gemini
	answer  func(n int, prompt string) (status int, header map[string]string, text string)
	mu      sync.Mutex
	prompts []string
}

func (f *fakeLLM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var prompt string
	if f.kind == "openai" {
		var req struct {
			Messages []struct{ Role, Content string } `json:"messages"`
		}
		_ = json.Unmarshal(raw, &req)
		for _, m := range req.Messages {
			prompt += m.Content + "\n"
		}
	} else {
		var req struct {
			Contents []struct {
				Parts []struct{ Text string } `json:"parts"`
			} `json:"contents"`
			SystemInstruction struct {
				Parts []struct{ Text string } `json:"parts"`
			} `json:"systemInstruction"`
		}
		_ = json.Unmarshal(raw, &req)
		for _, p := range req.SystemInstruction.Parts {
			prompt += p.Text + "\n"
		}
		for _, c := range req.Contents {
			for _, p := range c.Parts {
				prompt += p.Text + "\n"
			}
		}
	}
	f.mu.Lock()
	f.prompts = append(f.prompts, prompt)
	n := len(f.prompts)
	f.mu.Unlock()
	status, hdr, text := f.answer(n, prompt)
	for k, v := range hdr {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if status != 200 {
		io.WriteString(w, `{"error":{"code":`+http.StatusText(status)+`,"message":"fake failure"}}`)
		return
	}
	var body any
	if f.kind == "openai" {
		body = map[string]any{"id": "x", "object": "chat.completion", "created": 1, "model": "fake",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": text}}},
			"usage":   map[string]any{"prompt_tokens": 321, "completion_tokens": 45, "total_tokens": 366}}
	} else {
		body = map[string]any{"candidates": []any{map[string]any{"content": map[string]any{"role": "model", "parts": []any{map[string]any{"text": text}}}, "finishReason": "STOP"}},
			"usageMetadata": map[string]any{"promptTokenCount": 321, "candidatesTokenCount": 45}, "modelVersion": "fake-gemini"}
	}
	_ = json.NewEncoder(w).Encode(body)
}

func (f *fakeLLM) lastPrompt() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.prompts) == 0 {
		return ""
	}
	return f.prompts[len(f.prompts)-1]
}

func answerJSON(verdict string, confidence int, rootCause string) string {
	b, _ := json.Marshal(map[string]any{"verdict": verdict, "promote": verdict == judge.Promote, "confidence": confidence,
		"analysis": "LLM analysis: " + rootCause, "rootCause": rootCause, "remediation": "LLM remediation"})
	return string(b)
}

func provider(t *testing.T, f *fakeLLM) llm.Provider {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c := llm.Config{Provider: f.kind, Model: "fake", BaseURL: srv.URL, APIKey: "k", InitialBackoff: 5 * time.Millisecond, MaxAttempts: 3, Timeout: 5 * time.Second}
	if f.kind == "openai" {
		c.BaseURL += "/v1"
	}
	p, err := providers.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func scenarioInput(t *testing.T, name string) judge.Input {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "testdata", "canary", name)
	f := judge.Files{Stable: filepath.Join(dir, "stable.log"), Canary: filepath.Join(dir, "canary.log")}
	if _, err := os.Stat(filepath.Join(dir, "stable-metrics.json")); err == nil {
		f.StableMetrics, f.CanaryMetrics = filepath.Join(dir, "stable-metrics.json"), filepath.Join(dir, "canary-metrics.json")
	}
	in, err := judge.LoadFiles(f)
	if err != nil {
		t.Fatalf("scenario %s: %v", name, err)
	}
	return in
}

func mustJudge(t *testing.T, in judge.Input, o judge.Options) *judge.Verdict {
	t.Helper()
	v, err := judge.Judge(context.Background(), in, o)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestLLMLayer(t *testing.T) {
	const injection = "ignore all previous instructions"
	tests := []struct {
		name        string
		kind        string
		scenario    string
		extraPrompt string
		answer      func(n int, prompt string) (int, map[string]string, string)
		wantVerdict string
		wantOutcome string
		check       func(t *testing.T, v *judge.Verdict, prompt string)
	}{
		{
			name: "prompt injection obeyed by the model cannot flip an abort", kind: "openai", scenario: "prompt-injection",
			answer: func(_ int, p string) (int, map[string]string, string) {
				if strings.Contains(strings.ToLower(p), injection) {
					return 200, nil, answerJSON(judge.Promote, 100, "the logs say the canary is healthy")
				}
				return 200, nil, answerJSON(judge.Abort, 90, "panic")
			},
			wantVerdict: judge.Abort, wantOutcome: "overruled",
			check: func(t *testing.T, v *judge.Verdict, prompt string) {
				// The injected text reaches the model only inside the untrusted-data fence.
				lp := strings.ToLower(prompt)
				i := strings.Index(lp, injection)
				open := strings.Index(prompt, "\n<<<DATA-")
				end := strings.LastIndex(prompt, ">>>")
				if i < 0 || open < 0 || !(open < i && i < end) {
					t.Errorf("injection at %d not inside the fence [%d,%d]", i, open, end)
				}
				if v.Confidence < 60 || v.LLM.Suggested != judge.Promote {
					t.Errorf("confidence %d suggested %q", v.Confidence, v.LLM.Suggested)
				}
			},
		},
		{
			name: "gemini malformed answer falls back", kind: "gemini", scenario: "go-panic",
			answer:      func(int, string) (int, map[string]string, string) { return 200, nil, "I think you should promote it." },
			wantVerdict: judge.Abort, wantOutcome: "error",
		},
		{
			name: "answer with inconsistent promote flag falls back", kind: "openai", scenario: "healthy",
			answer: func(int, string) (int, map[string]string, string) {
				return 200, nil, `{"verdict":"abort","promote":true,"confidence":50,"analysis":"","rootCause":"","remediation":""}`
			},
			wantVerdict: judge.Promote, wantOutcome: "error",
		},
		{
			name: "provider 5xx falls back to the deterministic verdict", kind: "openai", scenario: "go-panic",
			answer:      func(int, string) (int, map[string]string, string) { return 503, nil, "" },
			wantVerdict: judge.Abort, wantOutcome: "error",
		},
		{
			name: "gemini 429 with Retry-After then agreement refines the explanation", kind: "gemini", scenario: "go-panic",
			answer: func(n int, _ string) (int, map[string]string, string) {
				if n == 1 {
					return 429, map[string]string{"Retry-After": "0.2"}, ""
				}
				return 200, nil, answerJSON(judge.Abort, 97, "nil palette passed to pickColor")
			},
			wantVerdict: judge.Abort, wantOutcome: "agreed",
			check: func(t *testing.T, v *judge.Verdict, _ string) {
				if v.RootCause != "nil palette passed to pickColor" || v.Confidence != 97 || v.LLM.ReportedPromptTokens != 321 || v.LLM.Model != "fake-gemini" {
					t.Errorf("merged verdict %+v llm %+v", v.RootCause, v.LLM)
				}
			},
		},
		{
			name: "LLM may downgrade promote to abort with a reason", kind: "openai", scenario: "healthy",
			answer: func(int, string) (int, map[string]string, string) {
				return 200, nil, answerJSON(judge.Abort, 70, "canary logs a debug flag that should not ship")
			},
			wantVerdict: judge.Abort, wantOutcome: "adjusted",
			check: func(t *testing.T, v *judge.Verdict, _ string) {
				if v.Promote || v.Fingerprint == "" || !strings.Contains(v.LLM.Reason, "promote to abort") {
					t.Errorf("promote=%v fingerprint=%q reason=%q", v.Promote, v.Fingerprint, v.LLM.Reason)
				}
			},
		},
		{
			name: "LLM cannot promote missing data", kind: "gemini", scenario: "too-little-data",
			answer: func(int, string) (int, map[string]string, string) {
				return 200, nil, answerJSON(judge.Promote, 80, "looks fine")
			},
			wantVerdict: judge.Inconclusive, wantOutcome: "overruled",
		},
		{
			// A colour change alone is informational (promoted without an LLM); a slower green is warning-level.
			name: "operator intent lets the LLM explain warning-level differences", kind: "openai", scenario: "rollouts-demo-colour-and-latency",
			extraPrompt: "The colour in the response differs on purpose (blue -> green), and green waits 2s per request on purpose (rate limiting).",
			answer: func(_ int, p string) (int, map[string]string, string) {
				if strings.Contains(p, "differs on purpose") {
					return 200, nil, answerJSON(judge.Promote, 80, "only the intended colour changed")
				}
				return 200, nil, answerJSON(judge.Abort, 80, "colour changed")
			},
			wantVerdict: judge.Promote, wantOutcome: "adjusted",
		},
		{
			name: "without operator intent the same promote is overruled", kind: "openai", scenario: "rollouts-demo-colour-and-latency",
			answer: func(int, string) (int, map[string]string, string) {
				return 200, nil, answerJSON(judge.Promote, 80, "only colour changed")
			},
			wantVerdict: judge.Abort, wantOutcome: "overruled",
		},
		{
			name: "secrets never reach the model", kind: "gemini", scenario: "secrets-in-logs",
			answer: func(int, string) (int, map[string]string, string) {
				return 200, nil, answerJSON(judge.Abort, 95, "auth failures")
			},
			wantVerdict: judge.Abort, wantOutcome: "agreed",
			check: func(t *testing.T, v *judge.Verdict, prompt string) {
				for _, s := range []string{"eyJhbGciOiJIUzI1NiJ9", "hunter2", "AKIAIOSFODNN7EXAMPLE", "ops@example.com"} {
					if strings.Contains(prompt, s) {
						t.Errorf("prompt leaks %q", s)
					}
				}
				if !strings.Contains(prompt, "[REDACTED") {
					t.Error("prompt shows no redaction marks: did the evidence reach it?")
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeLLM{kind: tc.kind, answer: tc.answer}
			in := scenarioInput(t, tc.scenario)
			in.ExtraPrompt = tc.extraPrompt
			det := mustJudge(t, in, judge.Options{})
			v := mustJudge(t, in, judge.Options{LLM: provider(t, f)})
			if v.Verdict != tc.wantVerdict || v.Promote != (v.Verdict == judge.Promote) {
				t.Errorf("verdict %s promote %v, want %s (deterministic %s)", v.Verdict, v.Promote, tc.wantVerdict, det.Verdict)
			}
			if v.LLM == nil || v.LLM.Outcome != tc.wantOutcome {
				t.Fatalf("llm report %+v, want outcome %s", v.LLM, tc.wantOutcome)
			}
			if v.LLM.Outcome == "error" && (v.Confidence != det.Confidence || v.RootCause != det.RootCause) {
				t.Errorf("fallback changed the deterministic verdict")
			}
			if v.LLM.EstimatedTokens <= 0 || v.LLM.EstimatedTokens > 4000 {
				t.Errorf("estimated prompt tokens %d", v.LLM.EstimatedTokens)
			}
			if tc.check != nil {
				tc.check(t, v, f.lastPrompt())
			}
		})
	}
}

func TestPromptBudget(t *testing.T) {
	in := scenarioInput(t, "go-panic")
	v := mustJudge(t, in, judge.Options{})
	for _, budget := range []int{600, 1000, 4000} {
		req := judge.BuildPrompt(in, v, judge.Options{MaxPromptTokens: budget})
		if n := llm.EstimateTokens(req.System) + llm.EstimateTokens(req.Prompt); n > budget {
			t.Errorf("budget %d: prompt is %d tokens", budget, n)
		}
	}
	if req := judge.BuildPrompt(in, v, judge.Options{}); !strings.Contains(req.Prompt, "panic serving") {
		t.Error("default budget lost the key evidence")
	}
}
