package scriptedllm_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/fixloop/fixloop/internal/opencode/scriptedllm"
)

func start(t *testing.T, scripts ...scriptedllm.Script) (*scriptedllm.Server, openai.Client) {
	t.Helper()
	s := scriptedllm.New(scripts...)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	c := openai.NewClient(option.WithBaseURL(s.URL+"/"), option.WithAPIKey("k"), option.WithMaxRetries(0),
		option.WithRequestTimeout(10*time.Second))
	return s, c
}

var tools = []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
	Name: "edit", Parameters: shared.FunctionParameters{"type": "object"}})}

// The stream must decode with a real OpenAI client: role chunk, content, tool calls, finish + usage.
func TestStreamDecodesWithOpenAIClient(t *testing.T) {
	srv, c := start(t, scriptedllm.Script{Name: "", Steps: []scriptedllm.Step{
		{Text: "editing", ToolCalls: []scriptedllm.ToolCall{{Name: "edit", Args: map[string]any{"filePath": "/x.go", "oldString": "a", "newString": "b"}}}},
		{Text: "second"},
	}})
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{Model: "fake-model", Tools: tools,
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("fix it")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}}
	stream := c.Chat.Completions.NewStreaming(ctx, params)
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Choices) != 1 {
		t.Fatalf("choices: %+v", acc.Choices)
	}
	ch := acc.Choices[0]
	if ch.Message.Content != "editing" || ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 1 {
		t.Fatalf("step 0: %+v", ch)
	}
	var args map[string]string
	if err := json.Unmarshal([]byte(ch.Message.ToolCalls[0].Function.Arguments), &args); err != nil || args["newString"] != "b" {
		t.Fatalf("tool args %q: %v", ch.Message.ToolCalls[0].Function.Arguments, err)
	}
	if acc.Usage.TotalTokens == 0 {
		t.Error("usage missing from the final chunk")
	}

	// Stateless step choice: one assistant message in the history → step 1.
	params.Messages = append(params.Messages, openai.AssistantMessage("editing"), openai.UserMessage("go on"))
	resp, err := c.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != "second" || resp.Choices[0].FinishReason != "stop" {
		t.Fatalf("step 1 = %q %s", got, resp.Choices[0].FinishReason)
	}
	// Past the script: the final text.
	params.Messages = append(params.Messages, openai.AssistantMessage("second"))
	if resp, err = c.Chat.Completions.New(ctx, params); err != nil || resp.Choices[0].Message.Content != "Done." {
		t.Fatalf("after script: %+v %v", resp, err)
	}
	if reqs := srv.RequestsFor(""); len(reqs) != 3 || reqs[0].Step != 0 || reqs[1].Step != 1 || reqs[2].Step != 2 {
		t.Fatalf("requests %+v", reqs)
	}
}

func TestTitleRequestAndScriptMarker(t *testing.T) {
	srv, c := start(t, scriptedllm.Script{Name: "other", Steps: []scriptedllm.Step{{Text: "from other"}}})
	srv.Title = "A title"
	ctx := context.Background()
	resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "m",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("[script:other] name this session")}})
	if err != nil || resp.Choices[0].Message.Content != "A title" {
		t.Fatalf("title: %+v %v", resp, err)
	}
	resp, err = c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "m", Tools: tools,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("please [script:other] go")}})
	if err != nil || resp.Choices[0].Message.Content != "from other" {
		t.Fatalf("script marker: %+v %v", resp, err)
	}
	if r := srv.Requests(); len(r) != 2 || !r[0].Title || r[1].Title || r[1].Script != "other" {
		t.Fatalf("requests %+v", r)
	}
}

func TestFailureModes(t *testing.T) {
	srv, c := start(t,
		scriptedllm.Script{Name: "a", Failure: scriptedllm.FailUnauthorized},
		scriptedllm.Script{Name: "b", Failure: scriptedllm.FailServerError},
		scriptedllm.Script{Name: "c", Failure: scriptedllm.FailMalformed},
	)
	ctx := context.Background()
	ask := func(name string) error {
		s := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "m", Tools: tools,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("[script:" + name + "]")}})
		for s.Next() {
		}
		return s.Err()
	}
	var apiErr *openai.Error
	if err := ask("a"); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("401 mode: %v", err)
	}
	if err := ask("b"); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusInternalServerError {
		t.Fatalf("5xx mode: %v", err)
	}
	if err := ask("c"); err == nil || !strings.Contains(strings.ToLower(err.Error()), "json") && !strings.Contains(err.Error(), "invalid") {
		t.Fatalf("malformed mode should fail to decode, got %v", err)
	}
	if n := len(srv.Requests()); n != 3 {
		t.Fatalf("requests = %d", n)
	}
}

func TestGateHoldsTheAnswer(t *testing.T) {
	gate := make(chan struct{})
	srv, c := start(t, scriptedllm.Script{Steps: []scriptedllm.Step{{Text: "released", Gate: gate}}})
	sub := srv.Subscribe()
	done := make(chan string, 1)
	go func() {
		r, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "m", Tools: tools,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
		if err != nil {
			done <- err.Error()
			return
		}
		done <- r.Choices[0].Message.Content
	}()
	<-sub // the request arrived and is held
	select {
	case got := <-done:
		t.Fatalf("answered before the gate opened: %s", got)
	case <-time.After(200 * time.Millisecond):
	}
	close(gate)
	if got := <-done; got != "released" {
		t.Fatal(got)
	}
}
