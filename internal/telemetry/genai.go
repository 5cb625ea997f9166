package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// GenAI semantic-convention attribute keys (OpenTelemetry gen_ai.*).
const (
	genAIOperation    = attribute.Key("gen_ai.operation.name")
	genAIProvider     = attribute.Key("gen_ai.provider.name")
	genAISystem       = attribute.Key("gen_ai.system") // the older name of gen_ai.provider.name, still read by many backends
	genAIRequestModel = attribute.Key("gen_ai.request.model")
	genAIResponseMod  = attribute.Key("gen_ai.response.model")
	genAIMaxTokens    = attribute.Key("gen_ai.request.max_tokens")
	genAIInputTokens  = attribute.Key("gen_ai.usage.input_tokens")
	genAIOutputTokens = attribute.Key("gen_ai.usage.output_tokens")
)

// StartChat opens a client span for one chat completion, named "chat <model>" as the GenAI conventions
// ask. provider is the gen_ai.provider.name value (gcp.gemini, openai).
func StartChat(ctx context.Context, provider, model string, maxTokens int) (context.Context, trace.Span) {
	attrs := []attribute.KeyValue{genAIOperation.String("chat"), genAIProvider.String(provider), genAISystem.String(provider),
		genAIRequestModel.String(model)}
	if maxTokens > 0 {
		attrs = append(attrs, genAIMaxTokens.Int(maxTokens))
	}
	return Tracer().Start(ctx, "chat "+model, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// EndChat records the answer's model and token usage on the span and in fixloop_llm_* series, then
// ends the span.
func EndChat(span trace.Span, model, responseModel string, inputTokens, outputTokens int, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	LLMCalls.WithLabelValues(model, result).Inc()
	if responseModel != "" {
		span.SetAttributes(genAIResponseMod.String(responseModel))
	}
	if inputTokens > 0 || outputTokens > 0 {
		span.SetAttributes(genAIInputTokens.Int(inputTokens), genAIOutputTokens.Int(outputTokens))
		LLMTokens.WithLabelValues(model, "input").Add(float64(inputTokens))
		LLMTokens.WithLabelValues(model, "output").Add(float64(outputTokens))
	}
	End(span, err)
}

// StartToolCall opens the span of one MCP tools/call, named "tools/call <tool>" as the MCP semantic
// conventions ask.
func StartToolCall(ctx context.Context, tool string) (context.Context, trace.Span) {
	return Tracer().Start(ctx, "tools/call "+tool, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("mcp.method.name", "tools/call"), attribute.String("gen_ai.tool.name", tool),
			genAIOperation.String("execute_tool")))
}
