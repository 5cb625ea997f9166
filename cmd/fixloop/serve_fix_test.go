package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/fixloop/fixloop/agents/fixer"
	"github.com/fixloop/fixloop/internal/config"
	"github.com/fixloop/fixloop/internal/github/ghsink"
	"github.com/fixloop/fixloop/internal/github/ghsink/ghsinktest"
	"github.com/fixloop/fixloop/internal/store"
)

// postJSON creates something on the local GitHub API and returns the decoded answer.
func postJSON(t *testing.T, url, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s: %d %v %v", url, resp.StatusCode, out, err)
	}
	return out
}

// fix_issue over MCP runs the fixer agent mounted in `fixloop serve` and relays its status updates as
// progress notifications. The fixer finds the pull request of an earlier run for the fingerprint, so the
// run needs no coding agent (OpenCode is configured but never reached).
func TestFixIssueOverMCPSendsTheFixersProgress(t *testing.T) {
	_, gh := ghsinktest.Start(t, ghsink.Options{})
	const fp = "fp-mcp-fix"
	issue := postJSON(t, gh.URL+"/repos/o/r/issues", `{"title":"[fixloop] panic in tiny.Last","body":"seen in canary"}`)
	pr := postJSON(t, gh.URL+"/repos/o/r/pulls", `{"title":"fix tiny.Last","head":"`+fixer.BranchFor(fp)+`","base":"main"}`)
	issueURL, _ := issue["html_url"].(string)
	stateDir := t.TempDir()
	st, err := store.Open(context.Background(), stateDir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := st.PutIssue(context.Background(), store.IssueRecord{Fingerprint: fp, Repo: "o/r", Number: 1, URL: issueURL, State: "open",
		Occurrences: 1, FirstSeen: now, LastSeen: now}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	base, log, err := startServe(t, func(c *config.Config) {
		c.StateDir = stateDir
		c.GitHub = config.GitHub{BaseURL: gh.URL + "/", Repo: "o/r"}
		c.Fixer.OpenCodeURL, c.Fixer.Repos, c.Fixer.WorkDir = "http://127.0.0.1:9", []string{"o/*"}, t.TempDir()
	})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var progress []string
	c, err := client.NewStreamableHttpClient(base+"/mcp", transport.WithHTTPTimeout(3*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == "notifications/progress" && n.Params.AdditionalFields["progressToken"] == "fix-1" {
			msg, _ := n.Params.AdditionalFields["message"].(string)
			mu.Lock()
			progress = append(progress, msg)
			mu.Unlock()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.ProtocolVersion20250618
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = "fix_issue", map[string]any{"issueUrl": issueURL}
	req.Params.Meta = &mcp.Meta{ProgressToken: "fix-1"}
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	text := ""
	for _, ct := range res.Content {
		if tc, ok := ct.(mcp.TextContent); ok {
			text += tc.Text
		}
	}
	prURL, _ := pr["html_url"].(string)
	if res.IsError || !strings.Contains(text, prURL) {
		t.Fatalf("fix_issue = %s (error %v)\nserver log:\n%s", text, res.IsError, log.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(strings.Join(progress, "\n"), "already exists") {
		t.Fatalf("progress notifications = %q, want the fixer's status updates", progress)
	}
	// An issue fixloop did not file is refused before any fixer runs.
	req.Params.Arguments = map[string]any{"issueUrl": gh.URL + "/o/r/issues/99"}
	if res, err := c.CallTool(ctx, req); err != nil || !res.IsError {
		t.Fatalf("foreign issue accepted: %+v %v", res, err)
	}
}
