// Package providers implements llm.Provider for Gemini (google.golang.org/genai, JSON output with
// a response schema) and any OpenAI-compatible chat-completions endpoint (OpenAI, Ollama, vLLM via
// github.com/openai/openai-go). Both send through llm.HTTPClient: one retry policy honouring
// 429 Retry-After, with the SDKs' own retries off.
package providers

import (
	"context"
	"fmt"

	"github.com/fixloop/fixloop/internal/llm"
	"github.com/fixloop/fixloop/internal/telemetry"
)

// New builds the configured provider; it returns (nil, nil) for "none" or an empty Provider.
func New(c llm.Config) (llm.Provider, error) {
	c = c.WithDefaults()
	switch c.Provider {
	case "", "none":
		return nil, nil
	case "gemini":
		g, err := newGemini(c)
		if err != nil {
			return nil, err
		}
		return traced{g, "gcp.gemini", g.cfg.Model}, nil
	case "openai":
		o, err := newOpenAI(c)
		if err != nil {
			return nil, err
		}
		return traced{o, "openai", o.cfg.Model}, nil
	}
	return nil, fmt.Errorf("unknown LLM provider %q: set --llm-provider / FIXLOOP_LLM_PROVIDER to none, gemini or openai", c.Provider)
}

// traced makes each completion a GenAI client span (model, token usage) and counts tokens by model in
// fixloop_llm_tokens_total.
type traced struct {
	llm.Provider
	system, model string
}

func (t traced) Complete(ctx context.Context, req llm.Request) (llm.Response, error) {
	ctx, span := telemetry.StartChat(ctx, t.system, t.model, req.MaxOutputTokens)
	resp, err := t.Provider.Complete(ctx, req)
	telemetry.EndChat(span, t.model, resp.Model, resp.PromptTokens, resp.OutputTokens, err)
	return resp, err
}
