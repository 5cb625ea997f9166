package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/fixloop/fixloop/internal/testenv"
)

func callTool(t *testing.T, c *client.Client, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

func resultText(r *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// A wrong argument name used to come back as "input schema validation failed: <root>:
// &{Properties:[selector tail]}"; the error now names the argument, the likely one and the valid ones.
func TestToolErrorsNameTheBadArgument(t *testing.T) {
	c := httpClient(t, httpServer(t, cleanEnv(t)), mcp.ProtocolVersion20250618)
	cases := map[string]struct {
		tool string
		args map[string]any
		want []string
	}{
		"misnamed": {"get_logs", map[string]any{"namespace": "shop", "selector": "app=web"},
			[]string{"unknown argument `selector` (did you mean `labelSelector`?)", "valid arguments: container, grep, labelSelector"}},
		"wrong type":       {"get_logs", map[string]any{"namespace": 5}, []string{"argument `namespace`", "string"}},
		"missing required": {"promote_rollout", map[string]any{"namespace": "shop"}, []string{"missing required argument `name`"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			res := callTool(t, c, tc.tool, tc.args)
			text := resultText(res)
			if !res.IsError {
				t.Fatalf("accepted: %s", text)
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("error %q lacks %q", text, w)
				}
			}
			if strings.Contains(text, "&{") {
				t.Errorf("error still dumps a Go struct: %q", text)
			}
		})
	}
}

// Gemini-dialect clients reject multi-type unions: every schema states one type.
func TestToolSchemasHaveSingleTypes(t *testing.T) {
	c := httpClient(t, httpServer(t, cleanEnv(t)), "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range res.Tools {
		raw, _ := json.Marshal(tool)
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				if _, isList := x["type"].([]any); isList {
					t.Errorf("%s: multi-type schema %v", tool.Name, x["type"])
				}
				for _, e := range x {
					walk(e)
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			}
		}
		var g any
		json.Unmarshal(raw, &g)
		walk(g)
	}
}

type notes struct {
	mu   sync.Mutex
	list []mcp.JSONRPCNotification
}

func (n *notes) add(x mcp.JSONRPCNotification) {
	n.mu.Lock()
	n.list = append(n.list, x)
	n.mu.Unlock()
}

// waitFor polls until a notification of method whose params contain want arrives.
func (n *notes) waitFor(t *testing.T, method, want string) {
	t.Helper()
	testenv.WaitFor(t, fmt.Sprintf("a %s notification with %q", method, want), 20*time.Millisecond, 10*time.Second, func() (bool, string) {
		n.mu.Lock()
		defer n.mu.Unlock()
		for _, x := range n.list {
			raw, _ := json.Marshal(x.Params)
			if x.Method == method && strings.Contains(string(raw), want) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d notifications", len(n.list))
	})
}

func TestResourcesCompletionsAndLogLevel(t *testing.T) {
	base := httpServer(t, cleanEnv(t))
	c := httpClient(t, base, mcp.ProtocolVersion20250618)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Delivery of log messages is asserted over the in-process transport (progress_cluster_test.go): over
	// streamable HTTP, mcp-go can answer a tool that fails at once before it flushes the call's messages.
	lvl := mcp.SetLevelRequest{}
	lvl.Params.Level = mcp.LoggingLevelDebug
	if err := c.SetLevel(ctx, lvl); err != nil {
		t.Fatalf("logging/setLevel: %v", err)
	}

	rs, err := c.ListResources(ctx, mcp.ListResourcesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rs.Resources, func(r mcp.Resource) bool { return r.URI == "fixloop://skills/analyze_canary" }) ||
		!slices.ContainsFunc(rs.Resources, func(r mcp.Resource) bool { return r.URI == "fixloop://issues" }) ||
		!slices.ContainsFunc(rs.Resources, func(r mcp.Resource) bool { return r.URI == "fixloop://findings" }) {
		t.Fatalf("resources = %+v", rs.Resources)
	}
	tpl, err := c.ListResourceTemplates(ctx, mcp.ListResourceTemplatesRequest{})
	if err != nil || !slices.ContainsFunc(tpl.ResourceTemplates, func(r mcp.ResourceTemplate) bool {
		return r.URITemplate != nil && r.URITemplate.Raw() == "fixloop://verdicts/{taskId}"
	}) {
		t.Fatalf("templates = %+v %v", tpl, err)
	}
	rr := mcp.ReadResourceRequest{}
	rr.Params.URI = "fixloop://skills/investigate_service"
	read, err := c.ReadResource(ctx, rr)
	if err != nil || len(read.Contents) != 1 || !strings.Contains(read.Contents[0].(mcp.TextResourceContents).Text, "#") {
		t.Fatalf("read playbook: %+v %v", read, err)
	}
	// A triage task's result is readable as a verdict resource.
	resp, err := http.Post(base+"/agents/triage", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"SendMessage",`+
		`"params":{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"data":{"skill":"investigate_service","namespace":"shop","workload":"api"}}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var sent struct {
		Result struct {
			Task struct{ ID string } `json:"task"`
		} `json:"result"`
	}
	json.NewDecoder(resp.Body).Decode(&sent)
	resp.Body.Close()
	rr.Params.URI = "fixloop://verdicts/" + sent.Result.Task.ID
	verdict, err := c.ReadResource(ctx, rr)
	if err != nil || len(verdict.Contents) != 1 || !strings.Contains(verdict.Contents[0].(mcp.TextResourceContents).Text, `"workload": "api"`) {
		t.Fatalf("verdict resource of task %q: %+v %v", sent.Result.Task.ID, verdict, err)
	}
	cr := mcp.CompleteRequest{}
	cr.Params.Ref = mcp.ResourceReference{Type: "ref/resource", URI: "fixloop://skills/{name}"}
	cr.Params.Argument = mcp.CompleteArgument{Name: "name", Value: "inv"}
	comp, err := c.Complete(ctx, cr)
	if err != nil || !slices.Equal(comp.Completion.Values, []string{"investigate_service"}) {
		t.Fatalf("completion = %+v %v", comp, err)
	}
}
