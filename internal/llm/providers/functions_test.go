package providers

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/fixloop/fixloop/internal/llm"
)

var lookFunctions = []llm.Function{{Name: "investigate_service", Description: "health of a workload",
	Parameters: map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}, "required": []any{"name"}}}}

// Function calling on both wire protocols: the functions go out as tools with a call required, and the
// model's call comes back as Response.Call.
func TestFunctionCallingWireFormat(t *testing.T) {
	geminiCall, _ := json.Marshal(map[string]any{"candidates": []any{map[string]any{"finishReason": "STOP", "content": map[string]any{"role": "model",
		"parts": []any{map[string]any{"functionCall": map[string]any{"name": "investigate_service", "args": map[string]any{"name": "api"}}}}}}}})
	openaiCall, _ := json.Marshal(map[string]any{"id": "c", "object": "chat.completion", "created": 1, "model": "test-model",
		"choices": []any{map[string]any{"index": 0, "finish_reason": "tool_calls", "message": map[string]any{"role": "assistant", "content": nil,
			"tool_calls": []any{map[string]any{"id": "call_1", "type": "function", "function": map[string]any{"name": "investigate_service", "arguments": `{"name":"api"}`}}}}}}})
	for kind, answer := range map[string]string{"gemini": string(geminiCall), "openai": string(openaiCall)} {
		t.Run(kind, func(t *testing.T) {
			fake := newScripted(step{status: 200, body: answer})
			srv := httptest.NewServer(fake)
			defer srv.Close()
			got, err := testProvider(t, kind, srv, nil).Complete(context.Background(), llm.Request{Prompt: "is api ok?", Functions: lookFunctions})
			if err != nil {
				t.Fatal(err)
			}
			if got.Call == nil || got.Call.Name != "investigate_service" || string(got.Call.Args) != `{"name":"api"}` {
				t.Fatalf("call = %+v", got.Call)
			}
			body := <-fake.bodies
			raw, _ := json.Marshal(body)
			var wire struct {
				Tools []struct {
					Function             struct{ Name string }
					FunctionDeclarations []struct {
						Name                 string
						ParametersJsonSchema map[string]any `json:"parametersJsonSchema"`
					} `json:"functionDeclarations"`
				}
				ToolChoice string `json:"tool_choice"`
				ToolConfig struct {
					FunctionCallingConfig struct{ Mode string } `json:"functionCallingConfig"`
				} `json:"toolConfig"`
			}
			json.Unmarshal(raw, &wire)
			switch kind {
			case "openai":
				if len(wire.Tools) != 1 || wire.Tools[0].Function.Name != "investigate_service" || wire.ToolChoice != "required" {
					t.Fatalf("request = %s", raw)
				}
			case "gemini":
				if len(wire.Tools) != 1 || len(wire.Tools[0].FunctionDeclarations) != 1 || wire.Tools[0].FunctionDeclarations[0].ParametersJsonSchema == nil ||
					wire.ToolConfig.FunctionCallingConfig.Mode != "ANY" {
					t.Fatalf("request = %s", raw)
				}
			}
		})
	}
	// A model that answers with text instead of a call is an error, not an empty call.
	fake := newScripted(step{status: 200, body: openaiOK("I think api is fine")})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	if got, err := testProvider(t, "openai", srv, nil).Complete(context.Background(), llm.Request{Prompt: "x", Functions: lookFunctions}); err == nil {
		t.Fatalf("text answer accepted as a call: %+v", got)
	}
}
