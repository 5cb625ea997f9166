package tools_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/testenv"
	"github.com/fixloop/fixloop/tools"
)

// compare_canary reports its steps as notifications/progress when (and only when) the client sent a
// progress token, and log messages at or above the level the client set, through the mcp-go client.
func TestCompareCanaryReportsProgress(t *testing.T) {
	e := testenv.Get(t)
	t.Parallel() // a namespace of its own; it waits on the controller and scrapes
	ns := e.NewNamespace(t, "progress")
	e.DeployDemoRollout(t, ns, testenv.DemoRollout{Name: "web", Replicas: 1})
	kc, err := kube.NewFromConfig(e.RestConfig, "testenv", kube.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.NewMCPServer("fixloop-test", "1", server.WithToolCapabilities(false), server.WithLogging())
	tools.Register(srv, tools.Deps{Kube: kc}, tools.Options{})
	c, err := client.NewInProcessClient(srv)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	initialize(t, c, mcp.ProtocolVersion20250618)
	got := &notes{}
	c.OnNotification(got.add)
	lvl := mcp.SetLevelRequest{}
	lvl.Params.Level = mcp.LoggingLevelInfo
	if err := c.SetLevel(ctx, lvl); err != nil {
		t.Fatalf("logging/setLevel: %v", err)
	}

	call := func(token any) *mcp.CallToolResult {
		req := mcp.CallToolRequest{}
		req.Params.Name = "compare_canary"
		req.Params.Arguments = map[string]any{"namespace": ns, "stableSelector": "app=web", "canarySelector": "app=web", "skipMetrics": true}
		if token != nil {
			req.Params.Meta = &mcp.Meta{ProgressToken: token}
		}
		res, err := c.CallTool(ctx, req)
		if err != nil || res.IsError {
			t.Fatalf("compare_canary: %v %s", err, resultText(res))
		}
		return res
	}
	call(nil)
	got.mu.Lock()
	for _, n := range got.list {
		if n.Method == "notifications/progress" {
			t.Errorf("progress sent without a progress token: %+v", n.Params)
		}
	}
	got.mu.Unlock()
	call("tok-1")
	got.waitFor(t, "notifications/progress", "reading logs of 1 stable and 1 canary pods")
	got.waitFor(t, "notifications/progress", `"progress":4`)
	got.waitFor(t, "notifications/message", "compare_canary finished")
	got.mu.Lock()
	defer got.mu.Unlock()
	for _, n := range got.list {
		if raw, _ := json.Marshal(n.Params); n.Method == "notifications/message" && strings.Contains(string(raw), "started") {
			t.Errorf("debug message sent at level info: %s", raw)
		}
	}
}
