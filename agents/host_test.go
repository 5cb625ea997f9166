package agents_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2aclient"
	"github.com/a2aproject/a2a-go/v2/a2aclient/agentcard"
	"github.com/a2aproject/a2a-go/v2/a2acompat/a2av0"

	"github.com/fixloop/fixloop/agents"
	"github.com/fixloop/fixloop/internal/store"
)

// echoSkill is a small real agent: it reports two progress steps and returns its input.
func echoSkill(ctx context.Context, in agents.Input, progress agents.Progress) (*agents.Output, error) {
	switch in.Text {
	case "block":
		<-ctx.Done()
		return nil, ctx.Err()
	case "fail":
		return nil, errors.New("cannot do that: missing namespace")
	}
	progress("step 1")
	progress("step 2")
	return &agents.Output{Data: map[string]any{"echo": in.Data, "text": in.Text}, Summary: "echoed", ArtifactName: "echo"}, nil
}

func echoCard() *a2a.AgentCard {
	return &a2a.AgentCard{Name: "echo", Description: "echoes", Skills: []a2a.AgentSkill{{ID: "echo", Name: "Echo", Description: "echo", Tags: []string{"test"}, Examples: []string{"hello"}}}}
}

func startHost(t *testing.T, st store.Store, resumable bool) (*agents.Host, string) {
	t.Helper()
	h, err := agents.NewHost(agents.Config{Store: st, RootAgent: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Mount(agents.Agent{Name: "echo", Card: echoCard(), Executor: agents.NewExecutor(echoSkill), Resumable: resumable}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return h, ts.URL
}

func openStore(t *testing.T, dir string) *store.SQLite {
	t.Helper()
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func client(t *testing.T, base, agent string) *a2aclient.Client {
	t.Helper()
	ctx := context.Background()
	card, err := agentcard.DefaultResolver.Resolve(ctx, base+"/agents/"+agent)
	if err != nil {
		t.Fatal(err)
	}
	c, err := a2aclient.NewFromCard(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCardsAreServedForBothProtocolVersions(t *testing.T) {
	_, base := startHost(t, openStore(t, t.TempDir()), false)
	for _, path := range []string{"/.well-known/agent-card.json", "/agents/echo/.well-known/agent-card.json"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		var card map[string]any
		json.NewDecoder(resp.Body).Decode(&card)
		resp.Body.Close()
		if card["name"] != "echo" || card["url"] != base+"/agents/echo" || card["protocolVersion"] == nil {
			t.Errorf("%s: 0.3 fields missing: %v", path, card)
		}
		ifaces, _ := card["supportedInterfaces"].([]any)
		if len(ifaces) != 2 || ifaces[0].(map[string]any)["url"] != base+"/agents/echo" {
			t.Errorf("%s: supportedInterfaces = %v", path, card["supportedInterfaces"])
		}
		if card["skills"] == nil || card["capabilities"].(map[string]any)["streaming"] != true {
			t.Errorf("%s: card lacks skills/streaming: %v", path, card)
		}
		// No token configured: the card must not claim a scheme the server does not enforce.
		if card["securitySchemes"] != nil || card["securityRequirements"] != nil || card["security"] != nil {
			t.Errorf("%s: card advertises unenforced security: %v %v", path, card["securitySchemes"], card["security"])
		}
	}
}

func TestSendGetStreamCancelOverA2A(t *testing.T) {
	_, base := startHost(t, openStore(t, t.TempDir()), false)
	c := client(t, base, "echo")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	msg := a2a.NewMessage(a2a.MessageRoleUser, a2a.NewDataPart(map[string]any{"namespace": "shop"}))
	res, err := c.SendMessage(ctx, &a2a.SendMessageRequest{Message: msg})
	if err != nil {
		t.Fatal(err)
	}
	task, ok := res.(*a2a.Task)
	if !ok || task.Status.State != a2a.TaskStateCompleted || len(task.Artifacts) != 1 {
		t.Fatalf("SendMessage = %#v", res)
	}
	data := task.Artifacts[0].Parts[0].Data().(map[string]any)
	if data["echo"].(map[string]any)["namespace"] != "shop" || task.Artifacts[0].Parts[1].Text() != "echoed" {
		t.Fatalf("artifact = %+v", task.Artifacts[0].Parts)
	}
	got, err := c.GetTask(ctx, &a2a.GetTaskRequest{ID: task.ID})
	if err != nil || got.Status.State != a2a.TaskStateCompleted {
		t.Fatalf("GetTask = %+v, %v", got, err)
	}

	var progress []string
	final := a2a.TaskStateUnspecified
	for ev, err := range c.SendStreamingMessage(ctx, &a2a.SendMessageRequest{Message: a2a.NewMessage(a2a.MessageRoleUser, a2a.NewTextPart("hi"))}) {
		if err != nil {
			t.Fatal(err)
		}
		if su, ok := ev.(*a2a.TaskStatusUpdateEvent); ok {
			final = su.Status.State
			if su.Status.Message != nil {
				progress = append(progress, su.Status.Message.Parts[0].Text())
			}
		}
	}
	if final != a2a.TaskStateCompleted || !strings.Contains(strings.Join(progress, ","), "step 1,step 2") {
		t.Fatalf("stream: final %v progress %v", final, progress)
	}

	res, err = c.SendMessage(ctx, &a2a.SendMessageRequest{Message: a2a.NewMessage(a2a.MessageRoleUser, a2a.NewTextPart("fail"))})
	if err != nil {
		t.Fatal(err)
	}
	if ft := res.(*a2a.Task); ft.Status.State != a2a.TaskStateFailed || !strings.Contains(ft.Status.Message.Parts[0].Text(), "missing namespace") {
		t.Fatalf("failing skill: %+v", ft.Status)
	}

	res, err = c.SendMessage(ctx, &a2a.SendMessageRequest{Message: a2a.NewMessage(a2a.MessageRoleUser, a2a.NewTextPart("block")), Config: &a2a.SendMessageConfig{ReturnImmediately: true}})
	if err != nil {
		t.Fatal(err)
	}
	bt := res.(*a2a.Task)
	canceled, err := c.CancelTask(ctx, &a2a.CancelTaskRequest{ID: bt.ID})
	if err != nil || canceled.Status.State != a2a.TaskStateCanceled {
		t.Fatalf("CancelTask = %+v, %v", canceled, err)
	}
}

func TestA2A03ClientsWork(t *testing.T) {
	_, base := startHost(t, openStore(t, t.TempDir()), false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := a2aclient.NewFromEndpoints(ctx, []*a2a.AgentInterface{{URL: base + "/agents/echo", ProtocolBinding: a2a.TransportProtocolJSONRPC, ProtocolVersion: a2av0.Version}},
		a2av0.WithJSONRPCTransport(a2av0.JSONRPCTransportConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.SendMessage(ctx, &a2a.SendMessageRequest{Message: a2a.NewMessage(a2a.MessageRoleUser, a2a.NewDataPart(map[string]any{"x": 1.0}))})
	if err != nil {
		t.Fatal(err)
	}
	task, ok := res.(*a2a.Task)
	if !ok || task.Status.State != a2a.TaskStateCompleted {
		t.Fatalf("0.3 message/send = %#v", res)
	}
	got, err := c.GetTask(ctx, &a2a.GetTaskRequest{ID: task.ID})
	if err != nil || got.Status.State != a2a.TaskStateCompleted || len(got.Artifacts) != 1 {
		t.Fatalf("0.3 tasks/get = %+v, %v", got, err)
	}
	n := 0
	for _, err := range c.SendStreamingMessage(ctx, &a2a.SendMessageRequest{Message: a2a.NewMessage(a2a.MessageRoleUser, a2a.NewTextPart("hi"))}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n < 4 {
		t.Fatalf("0.3 message/stream gave %d events", n)
	}
}

// A task interrupted by a restart is resumed from its first message by a Resumable agent and answered
// from the store; a non-resumable one is failed with a clear message.
func TestInterruptedTasksAfterRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st := openStore(t, dir)
	for _, id := range []a2a.TaskID{"resume-me", "fail-me"} {
		msg := a2a.NewMessage(a2a.MessageRoleUser, a2a.NewDataPart(map[string]any{"id": string(id)}))
		if _, err := st.Tasks().Create(ctx, &a2a.Task{ID: id, ContextID: "c", Status: a2a.TaskStatus{State: a2a.TaskStateWorking}, History: []*a2a.Message{msg}}); err != nil {
			t.Fatal(err)
		}
	}
	st.PutKV(ctx, "a2a-task-agent", "resume-me", []byte("echo"))
	st.PutKV(ctx, "a2a-task-agent", "fail-me", []byte("gone-agent"))

	h, base := startHost(t, st, true)
	if err := h.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	h.Wait()
	c := client(t, base, "echo")
	got, err := c.GetTask(ctx, &a2a.GetTaskRequest{ID: "resume-me"})
	if err != nil || got.Status.State != a2a.TaskStateCompleted || len(got.Artifacts) != 1 {
		t.Fatalf("resumed task = %+v, %v", got, err)
	}
	got, err = c.GetTask(ctx, &a2a.GetTaskRequest{ID: "fail-me"})
	if err != nil || got.Status.State != a2a.TaskStateFailed || !strings.Contains(got.Status.Message.Parts[0].Text(), "restarted") {
		t.Fatalf("orphaned task = %+v, %v", got, err)
	}
}
