package tools_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/fixloop/fixloop/tools"
)

func allNames() []string {
	var names []string
	for _, t := range tools.All(tools.Deps{}) {
		names = append(names, t.Tool.Name)
	}
	return names
}

// A newcomer installs fixloop before pointing it at a cluster: both transports start, list every tool,
// speak old and new protocol versions, and the tools say what to configure.
func TestServersWithoutCluster(t *testing.T) {
	env := cleanEnv(t)
	base := httpServer(t, env)
	clients := map[string]func(protocol string) *client.Client{
		"stdio": func(p string) *client.Client { return stdioClient(t, env, p) },
		"http":  func(p string) *client.Client { return httpClient(t, base, p) },
	}
	for transport, newClient := range clients {
		for _, protocol := range []string{"", mcp.ProtocolVersion20250326, mcp.ProtocolVersion20250618, mcp.ProtocolVersion20251125} {
			t.Run(transport+"/"+protocol, func(t *testing.T) {
				c := newClient(protocol)
				names := toolNames(t, c)
				slices.Sort(names)
				if want := allNames(); !slices.Equal(names, want) {
					t.Fatalf("tools/list = %v, want %v", names, want)
				}
				for tool, want := range map[string]string{
					"get_architecture": "no cluster configured: set KUBECONFIG or --kubeconfig",
					"get_logs":         "no cluster configured",
					"promote_rollout":  "no cluster configured",
					"get_metrics":      "no Prometheus configured: set FIXLOOP_PROMETHEUS_URL",
				} {
					args := map[string]any{"namespace": "shop", "name": "web", "workload": "web", "pod": "p"}
					if tool == "get_architecture" {
						args = map[string]any{}
					}
					if tool == "get_logs" {
						args = map[string]any{"namespace": "shop", "pod": "p"}
					}
					if tool == "promote_rollout" {
						args = map[string]any{"namespace": "shop", "name": "web"}
					}
					if tool == "get_metrics" {
						args = map[string]any{"namespace": "shop", "workload": "web"}
					}
					r := call(t, c, tool, args)
					if !r.IsError || !strings.Contains(text(r), want) {
						t.Errorf("%s: isError=%v text=%q, want an error containing %q", tool, r.IsError, text(r), want)
					}
				}
				var info tools.ServerInfoOutput
				callOK(t, c, "server_info", nil, &info)
				if info.Cluster != "" || len(info.Problems) != 2 {
					t.Errorf("server_info = %+v, want no cluster and two problems", info)
				}
				// Input schema validation rejects wrong types before the tool runs.
				r := call(t, c, "get_logs", map[string]any{"namespace": "shop", "pod": "p", "maxLines": "lots"})
				if !r.IsError {
					t.Errorf("get_logs with maxLines=\"lots\" was accepted: %s", text(r))
				}
			})
		}
	}

	t.Run("prompts", func(t *testing.T) {
		c := stdioClient(t, env, "")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := c.ListPrompts(ctx, mcp.ListPromptsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range res.Prompts {
			names = append(names, p.Name)
		}
		if !slices.Contains(names, "analyze_canary") {
			t.Fatalf("prompts = %v, want the embedded skills (analyze_canary)", names)
		}
		req := mcp.GetPromptRequest{}
		req.Params.Name = "analyze_canary"
		got, err := c.GetPrompt(ctx, req)
		if err != nil || len(got.Messages) == 0 || !strings.Contains(text(&mcp.CallToolResult{Content: []mcp.Content{got.Messages[0].Content}}), "canary") {
			t.Fatalf("prompts/get analyze_canary: %v %+v", err, got)
		}
	})

	t.Run("http endpoints", func(t *testing.T) {
		c := httpClient(t, base, "")
		call(t, c, "get_architecture", map[string]any{})
		for path, want := range map[string]string{
			"/healthz": "ok",
			"/readyz":  `"cluster":"not configured"`,
			"/metrics": `fixloop_mcp_tool_calls_total{result="tool_error",tool="get_architecture"}`,
		} {
			resp, err := http.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
				t.Errorf("GET %s = %d %q, want 200 containing %q", path, resp.StatusCode, truncate(string(body), 400), want)
			}
		}
	})
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// --read-only leaves write tools out of the list entirely; --toolsets narrows it.
func TestReadOnlyAndToolsets(t *testing.T) {
	env := cleanEnv(t)
	ro := toolNames(t, stdioClient(t, env, "", "--read-only"))
	for _, w := range []string{"promote_rollout", "abort_rollout"} {
		if slices.Contains(ro, w) {
			t.Errorf("--read-only still lists %s: %v", w, ro)
		}
	}
	if !slices.Contains(ro, "get_logs") {
		t.Errorf("--read-only lost read tools: %v", ro)
	}
	envRO := cleanEnv(t, "FIXLOOP_READ_ONLY=true")
	base := httpServer(t, envRO)
	if names := toolNames(t, httpClient(t, base, "")); slices.Contains(names, "abort_rollout") {
		t.Errorf("FIXLOOP_READ_ONLY=true over HTTP still lists abort_rollout: %v", names)
	}
	ms := toolNames(t, stdioClient(t, env, "", "--toolsets", "metrics"))
	slices.Sort(ms)
	if !slices.Equal(ms, []string{"get_metrics", "server_info"}) {
		t.Errorf("--toolsets metrics lists %v, want get_metrics and server_info", ms)
	}
}

// Bad configuration fails at start with the setting named and exit code 2.
func TestStartupValidation(t *testing.T) {
	bin := fixloopBin(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"mcp", "--toolsets", "nope"}, `unknown toolset "nope"`},
		{[]string{"mcp", "--prometheus-url", "prometheus:9090"}, "--prometheus-url"},
		{[]string{"mcp", "--kubeconfig", "/nonexistent/kubeconfig"}, "--kubeconfig"},
		{[]string{"serve", "--listen", "nonsense"}, "--listen"},
		{[]string{"mcp", "--log-format", "xml"}, "--log-format"},
	} {
		cmd := execCommand(bin, tc.args...)
		cmd.Env = cleanEnv(t)
		out, err := cmd.CombinedOutput()
		code := -1
		if cmd.ProcessState != nil {
			code = cmd.ProcessState.ExitCode()
		}
		if err == nil || code != 2 || !strings.Contains(string(out), tc.want) {
			t.Errorf("fixloop %v: exit %d, output %q; want exit 2 naming %q", tc.args, code, out, tc.want)
		}
	}
}
