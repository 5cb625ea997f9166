package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/fixloop/fixloop/internal/llm"

	"google.golang.org/genai"
)

type gemini struct {
	cfg    llm.Config
	client *genai.Client
}

func newGemini(c llm.Config) (*gemini, error) {
	if c.APIKey == "" {
		return nil, errors.New("gemini needs an API key: set GEMINI_API_KEY or GOOGLE_API_KEY")
	}
	if c.Model == "" {
		c.Model = llm.DefaultGeminiModel
	}
	cc := &genai.ClientConfig{
		APIKey:     c.APIKey,
		Backend:    genai.BackendGeminiAPI,
		HTTPClient: llm.HTTPClient(c),
	}
	if c.BaseURL != "" {
		cc.HTTPOptions.BaseURL = c.BaseURL
	}
	// genai does not retry without RetryOptions; our transport does.
	client, err := genai.NewClient(context.Background(), cc)
	if err != nil {
		return nil, fmt.Errorf("gemini client: %w", err)
	}
	return &gemini{cfg: c, client: client}, nil
}

func (g *gemini) Name() string { return "gemini" }

func (g *gemini) Complete(ctx context.Context, req llm.Request) (llm.Response, error) {
	if err := llm.CheckBudget(g.cfg, req); err != nil {
		return llm.Response{}, err
	}
	gc := &genai.GenerateContentConfig{}
	if req.System != "" {
		gc.SystemInstruction = genai.NewContentFromText(req.System, genai.RoleUser)
	}
	if req.Schema != nil {
		gc.ResponseMIMEType = "application/json"
		gc.ResponseJsonSchema = req.Schema
	}
	offerGeminiFunctions(gc, req.Functions)
	if req.MaxOutputTokens > 0 {
		gc.MaxOutputTokens = int32(req.MaxOutputTokens)
	}
	if req.Temperature != nil {
		t := float32(*req.Temperature)
		gc.Temperature = &t
	}
	resp, err := g.client.Models.GenerateContent(ctx, g.cfg.Model, genai.Text(req.Prompt), gc)
	if err != nil {
		return llm.Response{}, fmt.Errorf("gemini %s generateContent: %w", g.cfg.Model, err)
	}
	out := llm.Response{Model: resp.ModelVersion}
	if len(req.Functions) == 0 {
		out.Text = resp.Text() // a function-call answer has no text parts to join
	}
	if out.Model == "" {
		out.Model = g.cfg.Model
	}
	if u := resp.UsageMetadata; u != nil {
		out.PromptTokens = int(u.PromptTokenCount)
		out.OutputTokens = int(u.CandidatesTokenCount)
	}
	if len(req.Functions) > 0 {
		return geminiCall(out, resp.FunctionCalls(), g.cfg.Model)
	}
	if out.Text == "" {
		reason := ""
		if len(resp.Candidates) > 0 {
			reason = string(resp.Candidates[0].FinishReason)
		}
		if resp.PromptFeedback != nil && resp.PromptFeedback.BlockReason != "" {
			reason = string(resp.PromptFeedback.BlockReason)
		}
		return out, fmt.Errorf("gemini %s returned no text (finish reason %q)", g.cfg.Model, reason)
	}
	return out, nil
}

// offerGeminiFunctions turns on function calling (mode ANY: the model must call one).
func offerGeminiFunctions(gc *genai.GenerateContentConfig, fns []llm.Function) {
	if len(fns) == 0 {
		return
	}
	gc.ResponseMIMEType, gc.ResponseJsonSchema = "", nil
	var decls []*genai.FunctionDeclaration
	for _, f := range fns {
		decls = append(decls, &genai.FunctionDeclaration{Name: f.Name, Description: f.Description, ParametersJsonSchema: f.Parameters})
	}
	gc.Tools = []*genai.Tool{{FunctionDeclarations: decls}}
	gc.ToolConfig = &genai.ToolConfig{FunctionCallingConfig: &genai.FunctionCallingConfig{Mode: genai.FunctionCallingConfigModeAny}}
}

func geminiCall(out llm.Response, calls []*genai.FunctionCall, model string) (llm.Response, error) {
	if len(calls) == 0 || calls[0] == nil {
		return out, fmt.Errorf("gemini %s called no function", model)
	}
	args, err := json.Marshal(calls[0].Args)
	if err != nil {
		return out, fmt.Errorf("gemini %s function call arguments: %w", model, err)
	}
	out.Call = &llm.FunctionCall{Name: calls[0].Name, Args: args}
	return out, nil
}
