package triage

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"

	"github.com/fixloop/fixloop/internal/llm"
	"github.com/fixloop/fixloop/internal/llm/providers"
	"github.com/fixloop/fixloop/internal/store"
	"github.com/fixloop/fixloop/tools"
)

// openAIStandIn speaks the OpenAI chat-completions wire protocol (the model is unreachable SaaS) and
// answers every request by calling function fn with args; it records what it was sent.
type openAIStandIn struct {
	fn, args string
	mu       sync.Mutex
	bodies   []string
}

func (s *openAIStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, string(raw))
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "created": 1, "model": "stand-in",
		"choices": []any{map[string]any{"index": 0, "finish_reason": "tool_calls", "message": map[string]any{"role": "assistant", "content": nil,
			"tool_calls": []any{map[string]any{"id": "call_1", "type": "function", "function": map[string]any{"name": s.fn, "arguments": s.args}}}}}},
		"usage": map[string]any{"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}})
}

func triageWithModel(t *testing.T, fn, args string) (*Triage, *openAIStandIn) {
	t.Helper()
	model := &openAIStandIn{fn: fn, args: args}
	ts := httptest.NewServer(model)
	t.Cleanup(ts.Close)
	p, err := providers.New(llm.Config{Provider: "openai", BaseURL: ts.URL + "/v1", APIKey: "k", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tr, err := New(Config{Store: st, Tools: tools.Deps{}, LLM: p})
	if err != nil {
		t.Fatal(err)
	}
	return tr, model
}

func TestModelReadsFreeTextTheRulesCannot(t *testing.T) {
	tr, model := triageWithModel(t, "investigate_service", `{"namespace":"prod","kind":"deployment","name":"payments","window":"1h"}`)
	conv := []*a2a.Message{userMsg(a2a.NewTextPart("whats up with payments thing in prod, token=ghp_abcdefghijklmnopqrstuvwxyz0123456789"))}
	it := intentOf(conv)
	tr.completeWithLLM(context.Background(), &it, conv)
	if it.Skill != SkillInvestigateService || it.Namespace != "prod" || it.Kind != "deployment" || it.Name != "payments" || it.Window != "1h" {
		t.Fatalf("intent = %+v", it)
	}
	model.mu.Lock()
	defer model.mu.Unlock()
	if len(model.bodies) != 1 || strings.Contains(model.bodies[0], "ghp_abcdefghijklmnopqrstuvwxyz0123456789") ||
		!strings.Contains(model.bodies[0], `"tool_choice":"required"`) || !strings.Contains(model.bodies[0], `"name":"analyze_canary"`) {
		t.Fatalf("model request (secret must be redacted, one function per skill offered): %v", model.bodies)
	}
}

// What the model says is validated like user input and never overrides what the user said.
func TestModelAnswerIsValidatedAndNeverOverrides(t *testing.T) {
	tr, _ := triageWithModel(t, "investigate_service", `{"namespace":"kube-system","kind":"pod","name":"../../etc","window":"forever"}`)
	conv := []*a2a.Message{userMsg(a2a.NewTextPart("investigate payments in namespace shop"))}
	it := intentOf(conv)
	tr.completeWithLLM(context.Background(), &it, conv) // complete already: the model is not asked
	if it.Namespace != "shop" || it.Name != "payments" {
		t.Fatalf("intent = %+v", it)
	}
	conv = []*a2a.Message{userMsg(a2a.NewTextPart("hmm, something feels off"))}
	it = intentOf(conv)
	tr.completeWithLLM(context.Background(), &it, conv)
	if it.Name != "" || it.Kind != "" || it.Window != "" {
		t.Fatalf("invalid model answer used: %+v", it)
	}
	if it.Namespace != "kube-system" || it.Skill != SkillInvestigateService {
		t.Fatalf("the valid skill and namespace from the model are kept for the question: %+v", it)
	}
	// A function fixloop never offered, or arguments that are not the declared JSON, are not used at all.
	for fn, args := range map[string]string{"delete_everything": `{"namespace":"prod","name":"api"}`, "analyze_canary": `["prod"]`} {
		tr, _ := triageWithModel(t, fn, args)
		it := intentOf(conv)
		tr.completeWithLLM(context.Background(), &it, conv)
		if it.Skill != "" || it.Namespace != "" || it.Name != "" {
			t.Fatalf("call %s(%s) used: %+v", fn, args, it)
		}
	}
}

// Through A2A: free text the rules cannot place is mapped by the model's function call to
// investigate_service, and the task runs that skill to an artifact.
func TestFreeTextRunsTheSkillTheModelCalled(t *testing.T) {
	tr, _ := triageWithModel(t, "investigate_service", `{"namespace":"prod","kind":"deployment","name":"payments","window":"1h"}`)
	base := serveTriage(t, tr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := triageClient(ctx, t, base).SendMessage(ctx, &a2a.SendMessageRequest{Message: a2a.NewMessage(a2a.MessageRoleUser, a2a.NewTextPart("hmm, how is that payment thing doing over there"))})
	if err != nil {
		t.Fatal(err)
	}
	task, ok := res.(*a2a.Task)
	if !ok || task.Status.State != a2a.TaskStateCompleted || len(task.Artifacts) != 1 {
		t.Fatalf("task = %#v", res)
	}
	got, _ := task.Artifacts[0].Parts[0].Data().(map[string]any)
	if got["namespace"] != "prod" || got["workload"] != "deployment/payments" {
		t.Fatalf("artifact = %v", got)
	}
}
