package providers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/fixloop/fixloop/internal/llm"
	"github.com/fixloop/fixloop/internal/telemetry"
)

// A completion is a GenAI client span named "chat <model>" with the model and the token usage the
// server reported, and the tokens are counted by model in fixloop_llm_tokens_total.
func TestCompletionIsAGenAISpan(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "created": 1, "model": "stand-in-2",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": "ok"}}},
			"usage":   map[string]any{"prompt_tokens": 123, "completion_tokens": 45, "total_tokens": 168}})
	}))
	t.Cleanup(ts.Close)
	p, err := New(llm.Config{Provider: "openai", Model: "stand-in", BaseURL: ts.URL + "/v1", APIKey: "k", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	before := testutil.ToFloat64(telemetry.LLMTokens.WithLabelValues("stand-in", "input"))
	if _, err := p.Complete(context.Background(), llm.Request{Prompt: "hello", MaxOutputTokens: 50}); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].Name != "chat stand-in" {
		t.Fatalf("spans = %v, want one named chat stand-in", spans)
	}
	attrs := map[string]any{}
	for _, a := range spans[0].Attributes {
		attrs[string(a.Key)] = a.Value.AsInterface()
	}
	want := map[string]any{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "stand-in",
		"gen_ai.response.model": "stand-in-2", "gen_ai.usage.input_tokens": int64(123), "gen_ai.usage.output_tokens": int64(45),
		"gen_ai.request.max_tokens": int64(50)}
	for k, v := range want {
		if attrs[k] != v {
			t.Errorf("%s = %v, want %v", k, attrs[k], v)
		}
	}
	if got := testutil.ToFloat64(telemetry.LLMTokens.WithLabelValues("stand-in", "input")) - before; got != 123 {
		t.Errorf("fixloop_llm_tokens_total{kind=input} grew by %v, want 123", got)
	}
}
