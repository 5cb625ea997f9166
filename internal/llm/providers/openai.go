package providers

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/fixloop/fixloop/internal/llm"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// openaiCompat speaks the chat-completions API of OpenAI and of compatible servers (Ollama at
// http://localhost:11434/v1, vLLM at http://host:8000/v1).
type openaiCompat struct {
	cfg    llm.Config
	client openai.Client
}

func newOpenAI(c llm.Config) (*openaiCompat, error) {
	if c.Model == "" {
		c.Model = llm.DefaultOpenAIModel
	}
	key := c.APIKey
	if key == "" {
		// Local servers (Ollama, vLLM) need no key, but the header must be well formed.
		key = "none"
	}
	opts := []option.RequestOption{
		option.WithAPIKey(key),
		option.WithHTTPClient(llm.HTTPClient(c)),
		option.WithMaxRetries(0), // our transport retries
	}
	if c.BaseURL != "" {
		opts = append(opts, option.WithBaseURL(c.BaseURL))
	}
	return &openaiCompat{cfg: c, client: openai.NewClient(opts...)}, nil
}

func (o *openaiCompat) Name() string { return "openai" }

func (o *openaiCompat) Complete(ctx context.Context, req llm.Request) (llm.Response, error) {
	if err := llm.CheckBudget(o.cfg, req); err != nil {
		return llm.Response{}, err
	}
	var msgs []openai.ChatCompletionMessageParamUnion
	if req.System != "" {
		msgs = append(msgs, openai.SystemMessage(req.System))
	}
	msgs = append(msgs, openai.UserMessage(req.Prompt))
	p := openai.ChatCompletionNewParams{Model: o.cfg.Model, Messages: msgs}
	if req.Schema != nil {
		name := req.SchemaName
		if name == "" {
			name = "answer"
		}
		p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{
			OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
				JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: name, Schema: req.Schema},
			},
		}
	}
	offerFunctions(&p, req.Functions)
	if req.MaxOutputTokens > 0 {
		p.MaxTokens = openai.Int(int64(req.MaxOutputTokens))
	}
	if req.Temperature != nil {
		p.Temperature = openai.Float(*req.Temperature)
	}
	resp, err := o.client.Chat.Completions.New(ctx, p)
	if err != nil {
		return llm.Response{}, fmt.Errorf("openai-compatible %s chat completion: %w", o.cfg.Model, err)
	}
	if len(resp.Choices) == 0 {
		return llm.Response{}, fmt.Errorf("openai-compatible %s returned no choices", o.cfg.Model)
	}
	out := llm.Response{
		Text:         resp.Choices[0].Message.Content,
		Model:        resp.Model,
		PromptTokens: int(resp.Usage.PromptTokens),
		OutputTokens: int(resp.Usage.CompletionTokens),
	}
	if len(req.Functions) > 0 {
		return calledFunction(out, resp.Choices[0].Message.ToolCalls, o.cfg.Model)
	}
	if out.Text == "" {
		return out, fmt.Errorf("openai-compatible %s returned an empty message (finish reason %q, refusal %q)",
			o.cfg.Model, resp.Choices[0].FinishReason, resp.Choices[0].Message.Refusal)
	}
	return out, nil
}

// offerFunctions turns on function calling: the functions as tools, and a call required.
func offerFunctions(p *openai.ChatCompletionNewParams, fns []llm.Function) {
	if len(fns) == 0 {
		return
	}
	p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{}
	for _, f := range fns {
		p.Tools = append(p.Tools, openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: f.Name, Description: openai.String(f.Description), Parameters: shared.FunctionParameters(f.Parameters)}))
	}
	p.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")}
}

func calledFunction(out llm.Response, calls []openai.ChatCompletionMessageToolCallUnion, model string) (llm.Response, error) {
	for _, c := range calls {
		if c.Type == "function" || c.Function.Name != "" {
			out.Call = &llm.FunctionCall{Name: c.Function.Name, Args: json.RawMessage(c.Function.Arguments)}
			return out, nil
		}
	}
	return out, fmt.Errorf("openai-compatible %s called no function", model)
}
