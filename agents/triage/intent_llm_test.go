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

	"github.com/a2aproject/a2a-go/v2/a2a"

	"github.com/fixloop/fixloop/internal/llm"
	"github.com/fixloop/fixloop/internal/llm/providers"
	"github.com/fixloop/fixloop/internal/store"
	"github.com/fixloop/fixloop/tools"
)

// openAIStandIn speaks the OpenAI chat-completions wire protocol (the model is unreachable SaaS) and
// answers every request with content; it records what it was sent.
type openAIStandIn struct {
	content string
	mu      sync.Mutex
	bodies  []string
}

func (s *openAIStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, string(raw))
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "created": 1, "model": "stand-in",
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": s.content}}},
		"usage":   map[string]any{"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}})
}

func triageWithModel(t *testing.T, content string) (*Triage, *openAIStandIn) {
	t.Helper()
	model := &openAIStandIn{content: content}
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
	tr, model := triageWithModel(t, `{"skill":"investigate_service","namespace":"prod","kind":"deployment","name":"payments","window":"1h"}`)
	conv := []*a2a.Message{userMsg(a2a.NewTextPart("whats up with payments thing in prod, token=ghp_abcdefghijklmnopqrstuvwxyz0123456789"))}
	it := intentOf(conv)
	tr.completeWithLLM(context.Background(), &it, conv)
	if it.Skill != SkillInvestigateService || it.Namespace != "prod" || it.Kind != "deployment" || it.Name != "payments" || it.Window != "1h" {
		t.Fatalf("intent = %+v", it)
	}
	model.mu.Lock()
	defer model.mu.Unlock()
	if len(model.bodies) != 1 || strings.Contains(model.bodies[0], "ghp_abcdefghijklmnopqrstuvwxyz0123456789") ||
		!strings.Contains(model.bodies[0], "triage_request") {
		t.Fatalf("model request (secret must be redacted, schema sent): %v", model.bodies)
	}
}

// What the model says is validated like user input and never overrides what the user said.
func TestModelAnswerIsValidatedAndNeverOverrides(t *testing.T) {
	tr, _ := triageWithModel(t, `{"skill":"delete_everything","namespace":"kube-system","kind":"pod","name":"../../etc","window":"forever"}`)
	conv := []*a2a.Message{userMsg(a2a.NewTextPart("investigate payments in namespace shop"))}
	it := intentOf(conv)
	tr.completeWithLLM(context.Background(), &it, conv) // complete already: the model is not asked
	if it.Namespace != "shop" || it.Name != "payments" {
		t.Fatalf("intent = %+v", it)
	}
	conv = []*a2a.Message{userMsg(a2a.NewTextPart("hmm, something feels off"))}
	it = intentOf(conv)
	tr.completeWithLLM(context.Background(), &it, conv)
	if it.Skill != "" || it.Name != "" || it.Kind != "" || it.Window != "" {
		t.Fatalf("invalid model answer used: %+v", it)
	}
	if it.Namespace != "kube-system" {
		t.Fatalf("a valid namespace from the model is kept for the question: %+v", it)
	}
}
