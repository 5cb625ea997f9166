package tools_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/fixloop/fixloop/tools"
)

func TestSubscribable(t *testing.T) {
	for uri, want := range map[string]bool{
		"fixloop://issues": true, "fixloop://issues/fp-1": true, "fixloop://verdicts/0b7c": true, "fixloop://findings": true,
		"fixloop://findings/run-1": true, "fixloop://verdicts": false, "fixloop://verdicts/a/b": false, "fixloop://skills/fix_plan": false,
		"fixloop://workloads/shop": false, "test://watched-resource": false, "fixloop://issues/": false,
	} {
		if got := tools.Subscribable(uri); got != want {
			t.Errorf("Subscribable(%q) = %v, want %v", uri, got, want)
		}
	}
}

// subscribe sends resources/subscribe or resources/unsubscribe (mcp-go's client has no method for them).
func subscribe(ctx context.Context, c *client.Client, method, uri string) error {
	resp, err := c.GetTransport().SendRequest(ctx, transport.JSONRPCRequest{JSONRPC: "2.0", ID: mcp.NewRequestId(time.Now().UnixNano()),
		Method: method, Params: map[string]any{"uri": uri}})
	if err != nil {
		return err
	}
	if resp.Error != nil {
		return &rpcError{resp.Error.Message}
	}
	return nil
}

type rpcError struct{ msg string }

func (e *rpcError) Error() string { return e.msg }

// triageSend posts an A2A SendMessage to the triage agent and returns the task's id and state.
func triageSend(t *testing.T, base, taskID string, data map[string]any) (id, state string) {
	t.Helper()
	msg := map[string]any{"messageId": "m" + time.Now().Format("150405.000000000"), "role": "ROLE_USER", "parts": []any{map[string]any{"data": data}}}
	if taskID != "" {
		msg["taskId"] = taskID
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": map[string]any{"message": msg}})
	resp, err := http.Post(base+"/agents/triage", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sent struct {
		Result struct {
			Task struct {
				ID     string
				Status struct{ State string }
			} `json:"task"`
		} `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&sent); err != nil {
		t.Fatal(err)
	}
	return sent.Result.Task.ID, sent.Result.Task.Status.State
}

// A client subscribed to a triage task's verdict is told when the verdict appears: the task first asks
// which workload (no result yet), the answer completes it.
func TestVerdictSubscriptionNotifiesWhenTheResultArrives(t *testing.T) {
	base := httpServer(t, cleanEnv(t))
	c, err := client.NewStreamableHttpClient(base+"/mcp", transport.WithContinuousListening(), transport.WithHTTPTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	updated := make(chan string, 16)
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == mcp.MethodNotificationResourceUpdated {
			uri, _ := n.Params.AdditionalFields["uri"].(string)
			updated <- uri
		}
	})
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	initialize(t, c, mcp.ProtocolVersion20250618)
	if caps := c.GetServerCapabilities(); caps.Resources == nil || !caps.Resources.Subscribe {
		t.Fatalf("resources.subscribe not declared: %+v", caps.Resources)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	err = subscribe(ctx, c, "resources/subscribe", "test://watched-resource")
	if err == nil || !strings.Contains(err.Error(), "fixloop://verdicts/{taskId}") {
		t.Fatalf("subscription to a resource fixloop does not serve: %v", err)
	}
	id, state := triageSend(t, base, "", map[string]any{"skill": "investigate_service", "namespace": "shop"})
	if state != "TASK_STATE_INPUT_REQUIRED" {
		t.Fatalf("task %q state %s, want the question first", id, state)
	}
	uri := "fixloop://verdicts/" + id
	if err := subscribe(ctx, c, "resources/subscribe", uri); err != nil {
		t.Fatalf("subscribe %s: %v", uri, err)
	}
	if _, state := triageSend(t, base, id, map[string]any{"workload": "api"}); state != "TASK_STATE_COMPLETED" {
		t.Fatalf("answered task state %s", state)
	}
	select {
	case got := <-updated:
		if got != uri {
			t.Fatalf("notified about %q, subscribed to %q", got, uri)
		}
	case <-ctx.Done():
		t.Fatalf("no notifications/resources/updated for %s", uri)
	}
	if err := subscribe(ctx, c, "resources/unsubscribe", uri); err != nil {
		t.Fatalf("unsubscribe: %v", err)
	}
}
