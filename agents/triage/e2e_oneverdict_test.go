package triage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/testenv"
)

// mcpCompareCanary calls the MCP tool compare_canary of a running `fixloop serve` over streamable HTTP.
func mcpCompareCanary(t *testing.T, base string, args map[string]any) map[string]any {
	t.Helper()
	res, out := mcpCallTool(t, base, "compare_canary", args)
	if rep, _ := out["report"].(string); rep != "" && !hasResourceLink(res, rep) {
		t.Errorf("compare_canary's result names report %s but carries no resource_link to it: %+v", rep, res.Content)
	}
	return out
}

// mcpCallTool calls one MCP tool of a running `fixloop serve` and returns its result and structured content.
func mcpCallTool(t *testing.T, base, name string, args map[string]any) (*mcp.CallToolResult, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c, err := client.NewStreamableHttpClient(base+"/mcp", transport.WithHTTPTimeout(4*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "fixloop-e2e", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("MCP initialize: %v", err)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := c.CallTool(ctx, req)
	if err != nil || res.IsError {
		t.Fatalf("%s: %v %+v", name, err, res)
	}
	raw, _ := json.Marshal(res.StructuredContent)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s structured content: %s", name, raw)
	}
	return res, out
}

func hasResourceLink(res *mcp.CallToolResult, uri string) bool {
	for _, c := range res.Content {
		if l, ok := c.(mcp.ResourceLink); ok && l.URI == uri {
			return true
		}
	}
	return false
}

// webVerdict polls POST /argo/v1/verdict as Argo's web provider does until the verdict is done (with a
// bearer token when one is given).
func webVerdict(t *testing.T, base, token string, body map[string]any) map[string]any {
	t.Helper()
	raw, _ := json.Marshal(body)
	var out map[string]any
	// Every 2 s, as Argo's web provider polls a pending measurement.
	testenv.WaitFor(t, "a done verdict from POST /argo/v1/verdict", 2*time.Second, 4*time.Minute, func() (bool, string) {
		req, _ := http.NewRequest(http.MethodPost, base+"/argo/v1/verdict", strings.NewReader(string(raw)))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out = nil
		_ = json.Unmarshal(b, &out)
		if resp.StatusCode == 200 && out["status"] == "done" {
			return true, ""
		}
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("POST /argo/v1/verdict = %d %s", resp.StatusCode, b)
		}
		return false, string(b)
	})
	return out
}

// The same bad canary through every entry point — the MCP tool compare_canary, the AI metric plugin's
// /a2a/analyze and the web provider's /argo/v1/verdict — gets the same verdict and fingerprint, and the
// failure has exactly one issue in the GitHub sink (the old Argo path hashed a second fingerprint).
// Every answer and the issue link the verdict's report page, and the Slack channel hears of the abort.
func TestOneVerdictFromEveryEntryPoint(t *testing.T) {
	e := clusterTest(t)
	sink, sinkURL := newSink(t)
	slackAPI, posts := slackRecorder(t)
	srv := startServe(t, e, sinkURL, "acme/one", slackNotifyArgs(t, slackAPI, "C-alerts")...)
	ns := e.NewNamespace(t, "one")
	deployCanary(t, e, ns, "bad", map[string]string{"PANIC_RATE": "0.3", "ERROR_RATE": "0.2"})
	soak(t, e, ns, 9)

	viaMCP := mcpCompareCanary(t, srv.URL, map[string]any{"namespace": ns, "rollout": "bad"})
	plugin, _ := pluginAnalyzeWith(t, srv, ns, "bad", "acme/one", "")
	viaWeb := webVerdict(t, srv.URL, "", map[string]any{"namespace": ns, "rollout": "bad"})
	t.Logf("MCP: %s %v conf %v; plugin: promote %v conf %v; web: %s %v conf %v", viaMCP["verdict"], viaMCP["fingerprint"], viaMCP["confidence"],
		plugin["promote"], plugin["confidence"], viaWeb["verdict"], viaWeb["fingerprint"], viaWeb["confidence"])

	fp, _ := viaMCP["fingerprint"].(string)
	if viaMCP["verdict"] != "abort" || plugin["promote"] != false || viaWeb["verdict"] != "abort" {
		t.Fatalf("verdicts differ or promote a panicking canary: MCP %v, plugin %v, web %v\nserve log:\n%s", viaMCP["verdict"], plugin, viaWeb, srv.log())
	}
	if fp == "" || viaWeb["fingerprint"] != fp {
		t.Fatalf("fingerprints differ: MCP %q, web %v", fp, viaWeb["fingerprint"])
	}
	issues := sink.Issues("acme/one")
	if len(issues) != 1 {
		t.Fatalf("%d issues for one failure analysed through two Argo routes, want 1: %+v", len(issues), issues)
	}
	found := false
	for _, l := range issues[0].Labels {
		found = found || l.Name == github.FingerprintLabel(fp)
	}
	if !found {
		t.Fatalf("the issue is not filed under the MCP fingerprint %s: labels %+v", fp, issues[0].Labels)
	}
	if !strings.Contains(fmt.Sprint(plugin["analysis"]), "/acme/one/issues/1") || !strings.Contains(fmt.Sprint(viaWeb["issueUrl"]), "/acme/one/issues/1") {
		t.Errorf("the plugin answer and the web verdict do not both name issue #1: %v; %v", plugin["analysis"], viaWeb["issueUrl"])
	}
	checkReportLinks(t, srv, viaMCP, plugin, viaWeb, issues[0].Body, posts)
}
