package tools_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/fixloop/fixloop/internal/testenv"
)

// Completions come from the cluster: namespaces for a playbook prompt's namespace argument, the
// rollouts of the chosen namespace for its rollout argument, the workloads for a resource template.
func TestCompletionsFromTheCluster(t *testing.T) {
	e := testenv.Get(t)
	t.Parallel() // a namespace of its own; it waits on the controller and scrapes
	ns := e.NewNamespace(t, "complete")
	e.DeployDemoRollout(t, ns, testenv.DemoRollout{Name: "checkout", Replicas: 1})
	c := httpClient(t, httpServer(t, clusterEnv(t, e)), mcp.ProtocolVersion20250618)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	complete := func(ref any, arg, value string, known map[string]string) []string {
		t.Helper()
		req := mcp.CompleteRequest{}
		req.Params.Ref = ref
		req.Params.Argument = mcp.CompleteArgument{Name: arg, Value: value}
		req.Params.Context = mcp.CompleteContext{Arguments: known}
		res, err := c.Complete(ctx, req)
		if err != nil {
			t.Fatalf("complete %s=%q: %v", arg, value, err)
		}
		return res.Completion.Values
	}
	prompt := mcp.PromptReference{Type: "ref/prompt", Name: "analyze_canary"}
	if got := complete(prompt, "namespace", ns[:len(ns)-2], nil); !slices.Contains(got, ns) {
		t.Errorf("namespace completions %v lack %s", got, ns)
	}
	if got := complete(prompt, "rollout", "che", map[string]string{"namespace": ns}); !slices.Equal(got, []string{"checkout"}) {
		t.Errorf("rollout completions = %v, want [checkout]", got)
	}
	gp := mcp.GetPromptRequest{}
	gp.Params.Name, gp.Params.Arguments = "analyze_canary", map[string]string{"namespace": ns, "rollout": "checkout"}
	got, err := c.GetPrompt(ctx, gp)
	if err != nil || !strings.Contains(got.Messages[0].Content.(mcp.TextContent).Text, "Target: namespace "+ns+", rollout checkout.") {
		t.Fatalf("prompt with target arguments: %+v %v", got, err)
	}
	tpl := mcp.ResourceReference{Type: "ref/resource", URI: "fixloop://workloads/{namespace}"}
	if got := complete(tpl, "namespace", ns, nil); !slices.Equal(got, []string{ns}) {
		t.Errorf("template namespace completions = %v", got)
	}
	rr := mcp.ReadResourceRequest{}
	rr.Params.URI = "fixloop://workloads/" + ns
	read, err := c.ReadResource(ctx, rr)
	if err != nil || !strings.Contains(read.Contents[0].(mcp.TextResourceContents).Text, `"rollout/checkout"`) {
		t.Fatalf("workloads resource: %+v %v", read, err)
	}
}
