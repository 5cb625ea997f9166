// Package observability_test checks what fixloop tells operators about itself: the OpenTelemetry trace
// of one canary analysis, trace IDs in its log lines, and its /metrics series as the test environment's
// Prometheus scrapes them.
package observability_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fixloop/fixloop/internal/prom"
	"github.com/fixloop/fixloop/internal/testenv"
	"github.com/fixloop/fixloop/test/fixloopserve"
)

// One compare_canary over MCP on the real cluster: the OTLP receiver gets one trace whose server span
// (POST /mcp) holds the tool call, which holds the analysis, which holds the Kubernetes and Prometheus
// calls; the server's log lines carry that trace ID; Prometheus scrapes the verdict and tool series.
func TestAnalysisTraceAndMetrics(t *testing.T) {
	e := testenv.Get(t)
	ns := e.NewNamespace(t, "obs")
	deployCanary(t, e, ns, "web")

	recv := newOTLPReceiver(t)
	srv := fixloopserve.Start(t, "FIXLOOP_KUBECONFIG="+e.Kubeconfig, "FIXLOOP_PROMETHEUS_URL="+e.PrometheusURL,
		"FIXLOOP_OTEL_ENDPOINT="+recv.URL, "FIXLOOP_LOG_FORMAT=json")
	u, err := url.Parse(srv.Base)
	if err != nil {
		t.Fatal(err)
	}
	e.ScrapeFixloop(t, net.JoinHostPort("127.0.0.1", u.Port()))

	res := callTool(t, srv.Base, "compare_canary", map[string]any{"namespace": ns, "rollout": "web", "sinceSeconds": 300})
	if res.IsError {
		t.Fatalf("compare_canary failed: %v", res.Content)
	}
	var verdict struct{ Verdict string }
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &verdict); err != nil || verdict.Verdict == "" {
		t.Fatalf("no verdict in %s", b)
	}

	analysis := waitTrace(t, recv)
	checkTrace(t, recv.Spans(), analysis)
	if !strings.Contains(srv.Log(), `"trace_id":"`+analysis.TraceID+`"`) {
		t.Errorf("no log line carries the analysis' trace ID %s:\n%s", analysis.TraceID, srv.Log())
	}
	waitSeries(t, e.PrometheusURL, map[string]string{
		"verdict":       fmt.Sprintf(`fixloop_verdicts_total{job="fixloop",outcome=%q}`, verdict.Verdict),
		"analysis time": `fixloop_analysis_duration_seconds_count{job="fixloop"}`,
		"tool calls":    `fixloop_mcp_tool_calls_total{job="fixloop",tool="compare_canary",result="ok"}`,
		"tool latency":  `fixloop_mcp_tool_call_duration_seconds_count{job="fixloop",tool="compare_canary"}`,
		"fix queue":     `fixloop_fixes_waiting{job="fixloop"}`,
	})
}

// deployCanary starts a demo rollout and a canary whose handlers panic, paused at its first step.
func deployCanary(t *testing.T, e *testenv.Env, ns, name string) {
	e.DeployDemoRollout(t, ns, testenv.DemoRollout{Name: name, Replicas: 2})
	stable := e.WaitRollout(t, ns, name, func(*unstructured.Unstructured) bool { return true }, time.Second)
	stableHash, _, _ := unstructured.NestedString(stable.Object, "status", "stableRS")
	e.UpdateDemoRollout(t, ns, name, map[string]string{"PANIC_RATE": "0.3"})
	e.WaitRollout(t, ns, name, func(u *unstructured.Unstructured) bool {
		h, _, _ := unstructured.NestedString(u.Object, "status", "currentPodHash")
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions")
		return h != "" && h != stableHash && len(conds) > 0
	}, 3*time.Minute)
}

func callTool(t *testing.T, base, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	c, err := client.NewStreamableHttpClient(base+"/mcp", transport.WithHTTPTimeout(3*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "fixloop-observability-test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("tools/call %s: %v", name, err)
	}
	return res
}

// waitTrace waits until the analysis span and its children have been exported (the batcher sends every
// two seconds).
func waitTrace(t *testing.T, recv *otlpReceiver) span {
	t.Helper()
	var found span
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		for _, s := range recv.Spans() {
			if s.Name == "compare_canary" {
				found = s
			}
		}
		return found.SpanID != "" && len(inTrace(recv.Spans(), found.TraceID)) > 3, nil
	})
	if err != nil {
		t.Fatalf("no compare_canary span exported within a minute; spans: %v", names(recv.Spans()))
	}
	return found
}

// checkTrace checks the parent/child structure: POST /mcp → tools/call compare_canary → compare_canary →
// kubernetes and prometheus client spans.
func checkTrace(t *testing.T, all []span, analysis span) {
	t.Helper()
	trace := inTrace(all, analysis.TraceID)
	byID := map[string]span{}
	for _, s := range trace {
		byID[s.SpanID] = s
	}
	tool, ok := byID[analysis.ParentID]
	if !ok || tool.Name != "tools/call compare_canary" || tool.Attrs["gen_ai.tool.name"] != "compare_canary" {
		t.Fatalf("the analysis' parent is %+v, want the tools/call compare_canary span; trace: %v", tool, names(trace))
	}
	root, ok := byID[tool.ParentID]
	if !ok || root.Name != "POST /mcp" || root.ParentID != "" {
		t.Fatalf("the tool call's parent is %+v, want the root server span POST /mcp; trace: %v", root, names(trace))
	}
	if analysis.Attrs["fixloop.verdict"] == "" || analysis.Attrs["k8s.namespace.name"] == "" {
		t.Errorf("analysis span lacks verdict or namespace: %+v", analysis.Attrs)
	}
	children := map[string]int{}
	for _, s := range trace {
		if s.ParentID == analysis.SpanID {
			children[strings.Fields(s.Name)[0]]++
			if s.Kind != 3 { // SPAN_KIND_CLIENT
				t.Errorf("child %q of the analysis has kind %v, want client", s.Name, s.Kind)
			}
		}
	}
	if children["kubernetes"] == 0 || children["prometheus"] == 0 {
		t.Errorf("analysis children by peer %v, want kubernetes and prometheus calls; trace: %v", children, names(trace))
	}
}

func inTrace(all []span, traceID string) []span {
	var out []span
	for _, s := range all {
		if s.TraceID == traceID {
			out = append(out, s)
		}
	}
	return out
}

func names(spans []span) []string {
	out := make([]string, 0, len(spans))
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

// waitSeries waits until Prometheus holds a sample of each query (scraped from fixloop every 5 s).
func waitSeries(t *testing.T, promURL string, queries map[string]string) {
	t.Helper()
	pc, err := prom.New(promURL, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for what, q := range queries {
		var last string
		err := wait.PollUntilContextTimeout(context.Background(), time.Second, 90*time.Second, true, func(ctx context.Context) (bool, error) {
			v, _, err := pc.Query(ctx, q, time.Now())
			if err != nil {
				last = err.Error()
				return false, nil
			}
			last = v.String()
			return last != "", nil
		})
		if err != nil {
			t.Errorf("%s: Prometheus has no %s after 90 s (last answer %q)", what, q, last)
		}
	}
}
