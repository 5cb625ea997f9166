// Package providers implements llm.Provider for Gemini (google.golang.org/genai, JSON output with
// a response schema) and any OpenAI-compatible chat-completions endpoint (OpenAI, Ollama, vLLM via
// github.com/openai/openai-go). Both send through llm.HTTPClient: one retry policy honouring
// 429 Retry-After, with the SDKs' own retries off.
package providers

import (
	"fmt"

	"github.com/fixloop/fixloop/internal/llm"
)

// New builds the configured provider; it returns (nil, nil) for "none" or an empty Provider.
func New(c llm.Config) (llm.Provider, error) {
	c = c.WithDefaults()
	switch c.Provider {
	case "", "none":
		return nil, nil
	case "gemini":
		return newGemini(c)
	case "openai":
		return newOpenAI(c)
	}
	return nil, fmt.Errorf("unknown LLM provider %q: set --llm-provider / FIXLOOP_LLM_PROVIDER to none, gemini or openai", c.Provider)
}
