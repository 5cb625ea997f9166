package agents_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2aclient"
	"github.com/a2aproject/a2a-go/v2/a2aclient/agentcard"

	"github.com/fixloop/fixloop/agents"
	"github.com/fixloop/fixloop/internal/auth"
)

type withToken struct {
	token string
	next  http.RoundTripper
}

func (b withToken) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// authedHost serves an echo agent behind internal/auth with tokens for alice, bob (read) and root (admin).
func authedHost(t *testing.T) (base string, tokens map[string]string) {
	t.Helper()
	st, _ := auth.NewStatic("")
	tokens = map[string]string{}
	for name, scopes := range map[string][]string{"alice": {auth.ScopeRead}, "bob": {auth.ScopeRead}, "root": {auth.ScopeAdmin}} {
		tok, _ := auth.NewToken()
		st.Add(name, tok, scopes)
		tokens[name] = tok
	}
	h, err := agents.NewHost(agents.Config{Store: openStore(t, t.TempDir()), RootAgent: "echo", Security: agents.Security{Bearer: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Mount(agents.Agent{Name: "echo", Card: echoCard(), Executor: agents.NewExecutor(echoSkill)}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	a := &auth.Authenticator{Static: st}
	outer := http.NewServeMux()
	outer.Handle("GET /", mux) // cards
	outer.Handle("POST /", a.Wrap(auth.Route{Scope: auth.ScopeRead, Deny: auth.DenyJSONRPC}, mux))
	ts := httptest.NewServer(outer)
	t.Cleanup(ts.Close)
	return ts.URL, tokens
}

func clientAs(t *testing.T, base, token string) *a2aclient.Client {
	t.Helper()
	ctx := context.Background()
	hc := &http.Client{Transport: withToken{token: token, next: http.DefaultTransport}, Timeout: 30 * time.Second}
	card, err := agentcard.NewResolver(hc).Resolve(ctx, base+"/agents/echo")
	if err != nil {
		t.Fatal(err)
	}
	c, err := a2aclient.NewFromCard(ctx, card, a2aclient.WithJSONRPCTransport(hc))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Destroy() })
	return c
}

// Attack from issue 14: ListTasks listed every caller's tasks (fixer plans included) and anyone could
// CancelTask them. A task is now visible and cancellable by its creator and admins only.
func TestTasksVisibleAndCancellableOnlyByCreator(t *testing.T) {
	ctx := context.Background()
	base, tok := authedHost(t)
	alice, bob, root := clientAs(t, base, tok["alice"]), clientAs(t, base, tok["bob"]), clientAs(t, base, tok["root"])

	msg := a2a.NewMessage(a2a.MessageRoleUser, a2a.NewTextPart("block"))
	res, err := alice.SendMessage(ctx, &a2a.SendMessageRequest{Message: msg, Config: &a2a.SendMessageConfig{ReturnImmediately: true}})
	if err != nil {
		t.Fatal(err)
	}
	task, ok := res.(*a2a.Task)
	if !ok {
		t.Fatalf("want a task, got %T", res)
	}
	if list, err := bob.ListTasks(ctx, &a2a.ListTasksRequest{}); err != nil || len(list.Tasks) != 0 {
		t.Fatalf("bob lists alice's tasks: %+v, %v", list, err)
	}
	if _, err := bob.GetTask(ctx, &a2a.GetTaskRequest{ID: task.ID}); !errors.Is(err, a2a.ErrTaskNotFound) {
		t.Fatalf("bob reads alice's task: err = %v", err)
	}
	if _, err := bob.CancelTask(ctx, &a2a.CancelTaskRequest{ID: task.ID}); !errors.Is(err, a2a.ErrTaskNotFound) {
		t.Fatalf("bob cancels alice's task: err = %v", err)
	}
	if list, err := alice.ListTasks(ctx, &a2a.ListTasksRequest{}); err != nil || len(list.Tasks) != 1 {
		t.Fatalf("alice's own list: %+v, %v", list, err)
	}
	if list, err := root.ListTasks(ctx, &a2a.ListTasksRequest{}); err != nil || len(list.Tasks) != 1 {
		t.Fatalf("admin list: %+v, %v", list, err)
	}
	got, err := alice.CancelTask(ctx, &a2a.CancelTaskRequest{ID: task.ID})
	if err != nil || got.Status.State != a2a.TaskStateCanceled {
		t.Fatalf("alice cancels her task: %+v, %v", got, err)
	}
}

func TestCardsDeclareExactlyTheConfiguredSchemes(t *testing.T) {
	for _, c := range []struct {
		sec  agents.Security
		want []string
	}{{agents.Security{}, nil}, {agents.Security{Bearer: true}, []string{"bearer"}},
		{agents.Security{Bearer: true, OIDCIssuer: "https://issuer.example"}, []string{"bearer", "oidc"}}} {
		h, _ := agents.NewHost(agents.Config{Store: openStore(t, t.TempDir()), Security: c.sec})
		h.Mount(agents.Agent{Name: "echo", Card: echoCard(), Executor: agents.NewExecutor(echoSkill)})
		mux := http.NewServeMux()
		h.Register(mux)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/agents/echo/.well-known/agent-card.json", nil))
		var card struct {
			SecuritySchemes map[string]json.RawMessage `json:"securitySchemes"`
		}
		json.Unmarshal(rec.Body.Bytes(), &card)
		if len(card.SecuritySchemes) != len(c.want) {
			t.Errorf("%+v: schemes %v, want %v", c.sec, card.SecuritySchemes, c.want)
		}
		for _, w := range c.want {
			if card.SecuritySchemes[w] == nil {
				t.Errorf("%+v: no %s scheme in %s", c.sec, w, rec.Body)
			}
		}
	}
}
