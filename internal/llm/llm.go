// Package llm is fixloop's small client layer for language models: the Provider interface, its
// configuration, token estimates and budgets, and the retrying HTTP transport (429 Retry-After,
// backoff, per-attempt timeout) the implementations share. The implementations live in
// internal/llm/providers (Gemini via google.golang.org/genai, OpenAI-compatible via
// github.com/openai/openai-go), so code that only needs the interface (the judge) does not
// compile the SDKs.
package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"
)

// Request is one completion call. Schema, when set, is a JSON Schema the answer must follow
// (the providers ask for JSON output constrained by it).
type Request struct {
	System          string
	Prompt          string
	Schema          map[string]any
	SchemaName      string // OpenAI requires a name for the schema; default "answer"
	MaxOutputTokens int
	Temperature     *float64
	// Functions, when set, are offered for function calling and the model must answer by calling one
	// of them (Response.Call); Schema is then not used.
	Functions []Function
}

// Function is a function the model may call; Parameters is its JSON Schema (an object).
type Function struct {
	Name        string
	Description string
	Parameters  map[string]any
}

// FunctionCall is the model's call of one of Request.Functions: the name and the arguments as JSON,
// both unchecked (the caller validates them like user input).
type FunctionCall struct {
	Name string
	Args json.RawMessage
}

// Response is the model's text answer and the token usage the provider reported (0 when it did not).
type Response struct {
	Text         string
	Model        string
	PromptTokens int
	OutputTokens int
	// Call is the function the model called (requests with Functions).
	Call *FunctionCall
}

// Provider is a language model endpoint.
type Provider interface {
	Name() string // "gemini", "openai"
	Complete(ctx context.Context, req Request) (Response, error)
}

// Config selects and configures a provider.
type Config struct {
	Provider string // none | gemini | openai
	Model    string
	BaseURL  string // empty = the provider's public endpoint
	APIKey   string
	// Timeout bounds each HTTP attempt (default 60s).
	Timeout time.Duration
	// MaxAttempts is the number of tries including the first (default 4).
	MaxAttempts int
	// InitialBackoff is the first retry delay without a Retry-After header (default 1s, doubling).
	InitialBackoff time.Duration
	// MaxRetryWait caps one wait; a Retry-After longer than this ends the retries (default 30s).
	MaxRetryWait time.Duration
	// MaxPromptTokens is the per-call budget for system + prompt (estimated; default 8000).
	MaxPromptTokens int
	// HTTPClient's transport is wrapped with the retry logic (nil = http.DefaultTransport).
	HTTPClient *http.Client
}

// Defaults for each provider.
const (
	DefaultGeminiModel = "gemini-2.5-flash"
	DefaultOpenAIModel = "gpt-4o-mini"
)

// WithDefaults fills unset fields with the defaults documented on Config.
func (c Config) WithDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 4
	}
	if c.InitialBackoff <= 0 {
		c.InitialBackoff = time.Second
	}
	if c.MaxRetryWait <= 0 {
		c.MaxRetryWait = 30 * time.Second
	}
	if c.MaxPromptTokens <= 0 {
		c.MaxPromptTokens = 8000
	}
	return c
}

// ErrPromptTooLarge is returned when a request exceeds the token budget; callers shrink their
// evidence (see Truncate) rather than send it.
var ErrPromptTooLarge = errors.New("prompt exceeds the token budget")

// EstimateTokens approximates a prompt's token count for budgeting: about four bytes per token
// for English and log text, never fewer than one token per three runes of dense text.
func EstimateTokens(s string) int {
	if s == "" {
		return 0
	}
	byBytes := (len(s) + 3) / 4
	byRunes := (utf8.RuneCountInString(s) + 2) / 3
	return max(byBytes, byRunes)
}

// Truncate cuts s so that EstimateTokens(result) <= maxTokens, on a rune boundary, marking the cut.
func Truncate(s string, maxTokens int) string {
	if EstimateTokens(s) <= maxTokens {
		return s
	}
	const mark = " …[truncated]"
	budget := maxTokens - EstimateTokens(mark)
	if budget <= 0 {
		return ""
	}
	lo, hi := 0, len(s)
	for lo < hi { // largest prefix that fits
		mid := (lo + hi + 1) / 2
		if EstimateTokens(s[:mid]) <= budget {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	cut := lo
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// CheckBudget fails with ErrPromptTooLarge when req exceeds c.MaxPromptTokens.
func CheckBudget(c Config, req Request) error {
	if n := EstimateTokens(req.System) + EstimateTokens(req.Prompt); n > c.MaxPromptTokens {
		return fmt.Errorf("%w: about %d tokens, budget %d (raise FIXLOOP_LLM_MAX_PROMPT_TOKENS or send less evidence)", ErrPromptTooLarge, n, c.MaxPromptTokens)
	}
	return nil
}

// HTTPClient wraps the configured client's transport with the retry logic; providers send every
// request through it (and turn their SDK's own retries off).
func HTTPClient(c Config) *http.Client {
	base := http.DefaultTransport
	var jar http.CookieJar
	if c.HTTPClient != nil {
		if c.HTTPClient.Transport != nil {
			base = c.HTTPClient.Transport
		}
		jar = c.HTTPClient.Jar
	}
	return &http.Client{Jar: jar, Transport: &retryTransport{
		base:         base,
		attempts:     c.MaxAttempts,
		initial:      c.InitialBackoff,
		maxWait:      c.MaxRetryWait,
		attemptLimit: c.Timeout,
	}}
}
