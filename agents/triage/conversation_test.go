package triage

import (
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/fixloop/fixloop/tools"
)

// startTriageHost serves the triage agent without a cluster: the conversation logic needs none (the
// candidates then stay empty and the skill reports what it could not read).
func startTriageHost(t *testing.T) string {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tr, err := New(Config{Store: st, Tools: tools.Deps{}})
	if err != nil {
		t.Fatal(err)
	}
	return serveTriage(t, tr)
}

// serveTriage mounts tr on an A2A host over HTTP and returns its base URL.
func serveTriage(t *testing.T, tr *Triage) string {
	t.Helper()
	h, err := agents.NewHost(agents.Config{Store: tr.cfg.Store})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Mount(tr.Agent()); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func textOf(m *a2a.Message) string { return agents.MessageText(m) }

// triageClient is an A2A client of the triage agent served at base, built from its card.
func triageClient(ctx context.Context, t *testing.T, base string) *a2aclient.Client {
	t.Helper()
	card, err := agentcard.DefaultResolver.Resolve(ctx, base+"/agents/triage")
	if err != nil {
		t.Fatal(err)
	}
	c, err := a2aclient.NewFromCard(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The old executor failed "investigate shop" with "namespace is required" and then refused the answer
// (the task was terminal). Now it asks, and the answer in the same task completes the request.
func TestMissingNamespaceIsAskedAndTheAnswerContinuesTheTask(t *testing.T) {
	base := startTriageHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := triageClient(ctx, t, base)
	res, err := c.SendMessage(ctx, &a2a.SendMessageRequest{Message: a2a.NewMessage(a2a.MessageRoleUser, a2a.NewTextPart("investigate shop"))})
	if err != nil {
		t.Fatal(err)
	}
	task, ok := res.(*a2a.Task)
	if !ok || task.Status.State != a2a.TaskStateInputRequired {
		t.Fatalf("first answer = %#v, want an input-required task", res)
	}
	if q := textOf(task.Status.Message); !strings.Contains(q, "Which namespace is shop in?") {
		t.Fatalf("question = %q", q)
	}
	answer := a2a.NewMessageForTask(a2a.MessageRoleUser, task, a2a.NewTextPart("default"))
	res, err = c.SendMessage(ctx, &a2a.SendMessageRequest{Message: answer})
	if err != nil {
		t.Fatalf("follow-up refused: %v", err)
	}
	done, ok := res.(*a2a.Task)
	if !ok || done.ID != task.ID || done.Status.State != a2a.TaskStateCompleted || len(done.Artifacts) != 1 {
		t.Fatalf("after the answer: %#v", res)
	}
	data := done.Artifacts[0].Parts[0]
	got, _ := data.Data().(map[string]any)
	if data.MediaType != "application/json" || got["namespace"] != "default" || got["workload"] != "shop" {
		t.Fatalf("artifact data part = %s %v", data.MediaType, got)
	}
}

func rpc(t *testing.T, url, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// The 0.3 method names reach the same conversation.
func TestConversationThroughTheV03MethodNames(t *testing.T) {
	url := startTriageHost(t) + "/agents/triage"
	first := rpc(t, url, `{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"kind":"message","messageId":"m1","role":"user","parts":[{"kind":"text","text":"the canary of colors"}]}}}`)
	task, _ := first["result"].(map[string]any)
	status, _ := task["status"].(map[string]any)
	if status["state"] != "input-required" {
		t.Fatalf("0.3 first answer: %v", first)
	}
	id, ctxID := task["id"].(string), task["contextId"].(string)
	second := rpc(t, url, `{"jsonrpc":"2.0","id":2,"method":"message/send","params":{"message":{"kind":"message","messageId":"m2","taskId":"`+id+
		`","contextId":"`+ctxID+`","role":"user","parts":[{"kind":"text","text":"shop"}]}}}`)
	task, _ = second["result"].(map[string]any)
	status, _ = task["status"].(map[string]any)
	if status["state"] != "completed" || !strings.Contains(textOf03(status), "shop/colors") {
		t.Fatalf("0.3 follow-up: %v", second)
	}
}

func textOf03(status map[string]any) string {
	msg, _ := status["message"].(map[string]any)
	parts, _ := msg["parts"].([]any)
	var b strings.Builder
	for _, p := range parts {
		if m, ok := p.(map[string]any); ok {
			s, _ := m["text"].(string)
			b.WriteString(s)
		}
	}
	return b.String()
}

func TestListTasksRefusesInvalidParamsWithMinus32602(t *testing.T) {
	url := startTriageHost(t) + "/agents/triage"
	for _, params := range []string{`{"pageSize":0}`, `{"pageSize":101}`, `{"historyLength":-1}`, `{"status":"TASK_STATE_NAPPING"}`,
		`{"statusTimestampAfter":"yesterday"}`, `{"pageToken":"!!"}`} {
		out := rpc(t, url, `{"jsonrpc":"2.0","id":7,"method":"ListTasks","params":`+params+`}`)
		e, _ := out["error"].(map[string]any)
		if code, _ := e["code"].(float64); code != -32602 {
			t.Errorf("ListTasks %s: %v, want error -32602", params, out)
		}
	}
	out := rpc(t, url, `{"jsonrpc":"2.0","id":8,"method":"ListTasks","params":{"pageSize":5}}`)
	if out["error"] != nil {
		t.Fatalf("valid ListTasks refused: %v", out)
	}
}

// streamTurn sends one message over message/stream and returns the final task state, the task, the status
// texts and the data artifacts seen.
func streamTurn(ctx context.Context, t *testing.T, c *a2aclient.Client, msg *a2a.Message) (a2a.TaskState, a2a.TaskInfo, []string, []map[string]any) {
	t.Helper()
	var state a2a.TaskState
	var info a2a.TaskInfo
	var texts []string
	var data []map[string]any
	for ev, err := range c.SendStreamingMessage(ctx, &a2a.SendMessageRequest{Message: msg}) {
		if err != nil {
			t.Fatalf("message/stream: %v", err)
		}
		switch v := ev.(type) {
		case *a2a.Task:
			state, info = v.Status.State, v.TaskInfo()
		case *a2a.TaskStatusUpdateEvent:
			state, info = v.Status.State, v.TaskInfo()
			if v.Status.Message != nil {
				texts = append(texts, textOf(v.Status.Message))
			}
		case *a2a.TaskArtifactUpdateEvent:
			for _, p := range v.Artifact.Parts {
				if d, ok := p.Data().(map[string]any); ok {
					data = append(data, d)
				}
			}
		}
	}
	return state, info, texts, data
}

// The same conversation streamed through the 0.3 method names (message/stream) with the official Go
// SDK's 0.3 client: the question, then the answer in the same task completing with the artifact.
func TestStreamedConversationThroughTheV03Client(t *testing.T) {
	url := startTriageHost(t) + "/agents/triage"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := a2aclient.NewFromEndpoints(ctx, []*a2a.AgentInterface{{URL: url, ProtocolBinding: a2a.TransportProtocolJSONRPC, ProtocolVersion: a2av0.Version}},
		a2av0.WithJSONRPCTransport(a2av0.JSONRPCTransportConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	state, info, texts, _ := streamTurn(ctx, t, c, a2a.NewMessage(a2a.MessageRoleUser, a2a.NewTextPart("investigate shop")))
	if state != a2a.TaskStateInputRequired || !strings.Contains(strings.Join(texts, " "), "Which namespace is shop in?") {
		t.Fatalf("first turn: %s %q", state, texts)
	}
	state, info2, _, data := streamTurn(ctx, t, c, a2a.NewMessageForTask(a2a.MessageRoleUser, info, a2a.NewTextPart("default")))
	if state != a2a.TaskStateCompleted || info2.TaskID != info.TaskID || len(data) != 1 || data[0]["namespace"] != "default" || data[0]["workload"] != "shop" {
		t.Fatalf("second turn: %s task %s (first %s) artifacts %v", state, info2.TaskID, info.TaskID, data)
	}
}
