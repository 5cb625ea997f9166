package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"

	"github.com/fixloop/fixloop/agents"
	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/config"
	"github.com/fixloop/fixloop/internal/store"
)

// mcpSession initializes an MCP session over HTTP as token and returns a function sending one request.
func (s *authServer) mcpSession(t *testing.T, token string) func(method string, params any) map[string]any {
	t.Helper()
	r := s.post(t, "/mcp", token, mcpInit)
	if r.code != 200 {
		t.Fatalf("initialize: %d %s", r.code, r.body)
	}
	sid := r.header.Get("Mcp-Session-Id")
	s.post(t, "/mcp", token, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, "Mcp-Session-Id", sid)
	id := 1
	return func(method string, params any) map[string]any {
		id++
		raw, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
		r := s.post(t, "/mcp", token, string(raw), "Mcp-Session-Id", sid)
		body := r.body
		if i := strings.Index(body, "data: "); i >= 0 && strings.HasPrefix(r.header.Get("Content-Type"), "text/event-stream") {
			body = strings.SplitN(body[i+6:], "\n", 2)[0]
		}
		var out map[string]any
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatalf("%s: %d, not JSON-RPC (%.300s)", method, r.code, r.body)
		}
		return out
	}
}

func toolNames(res map[string]any) []string {
	var names []string
	tools, _ := res["result"].(map[string]any)["tools"].([]any)
	for _, tl := range tools {
		names = append(names, tl.(map[string]any)["name"].(string))
	}
	return names
}

// Attack from issue 14: promote_rollout {full:true} through /mcp with no credential reached the
// apiserver. Now the request is refused before MCP, a read-only caller's call is an MCP error naming the
// missing scope, and the write tools are not even listed for it.
func TestMCPWriteToolsNeedWriteScope(t *testing.T) {
	s := newAuthServer(t, nil)
	promote := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"promote_rollout","arguments":{"namespace":"shop","name":"web","full":true}}}`
	if r := s.post(t, "/mcp", "", promote); r.code != 401 {
		t.Fatalf("unauthenticated promote: %d %s", r.code, r.body)
	}
	reader := s.mcpSession(t, s.tokens["reader"])
	res := reader("tools/call", map[string]any{"name": "promote_rollout", "arguments": map[string]any{"namespace": "shop", "name": "web", "full": true}})
	result, _ := res["result"].(map[string]any)
	text := fmt.Sprint(result["content"])
	if result["isError"] != true || !strings.Contains(text, `"write"`) {
		t.Fatalf("read-only caller's promote: %v", res)
	}
	listed := strings.Join(toolNames(reader("tools/list", map[string]any{})), ",")
	if strings.Contains(listed, "promote_rollout") || strings.Contains(listed, "open_issue") || !strings.Contains(listed, "get_logs") {
		t.Fatalf("tools listed to a reader: %s", listed)
	}
	writer := s.mcpSession(t, s.tokens["writer"])
	listed = strings.Join(toolNames(writer("tools/list", map[string]any{})), ",")
	if !strings.Contains(listed, "promote_rollout") || strings.Contains(listed, "open_issue") {
		t.Fatalf("tools listed to a writer: %s", listed)
	}
	if !strings.Contains(s.log.String(), "msg=audit who=token:reader") || !strings.Contains(s.log.String(), "result=refused") {
		t.Fatalf("the refused write is not in the audit log:\n%s", s.log.String())
	}
}

// Attack from issue 14: one 200 MB body to /mcp grew RSS by 529 MiB. Bodies over the limit are refused
// with 413 before anything reads them into memory.
func TestBodyBombRefused(t *testing.T) {
	s := newAuthServer(t, func(c *config.Config) { c.Limits.MaxBodyBytes = 64 << 10 })
	bomb := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"pad":"` + strings.Repeat("A", 1<<20) + `"}}`
	for _, path := range []string{"/mcp", "/agents/triage", "/argo/v1/verdict", "/a2a/analyze"} {
		if r := s.post(t, path, s.tokens["reader"], bomb); r.code != 413 {
			t.Errorf("%s: %d, want 413", path, r.code)
		}
	}
}

// Attack from issue 14: 2,000 slow-body connections were held 150 s. A body not sent within the body
// timeout is answered 408 and the connection closed.
func TestSlowBodyIsCut(t *testing.T) {
	s := newAuthServer(t, func(c *config.Config) { c.Limits.BodyTimeout = config.Duration{Duration: 500 * time.Millisecond} })
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", s.tokens["reader"])
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("slow body not answered: %v", err)
	}
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("status %d, want 408", resp.StatusCode)
	}
}

// Attack from issue 14: a page on another site could POST text/plain to a local fixloop (and DNS
// rebinding could reach it under another name). Both are refused on every route.
func TestCrossSiteAndRebindingRefused(t *testing.T) {
	s := newAuthServer(t, nil)
	for _, path := range []string{"/argo/v1/verdict", "/a2a/analyze", "/agents/triage", "/mcp"} {
		req, _ := http.NewRequest("POST", s.base+path, strings.NewReader(`{"namespace":"shop","rollout":"web"}`))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Origin", "http://attacker.example")
		req.Header.Set("Authorization", "Bearer "+s.tokens["admin"]) // even with a credential
		if r := do(t, req); r.code != 415 && r.code != 403 {
			t.Errorf("cross-site text/plain to %s: %d", path, r.code)
		}
		req, _ = http.NewRequest("POST", s.base+path, strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "http://attacker.example")
		if r := do(t, req); r.code != 403 {
			t.Errorf("cross-site JSON to %s: %d", path, r.code)
		}
		req, _ = http.NewRequest("POST", s.base+path, strings.NewReader(`{}`))
		req.Host = "attacker.example"
		req.Header.Set("Content-Type", "application/json")
		if r := do(t, req); r.code != 403 {
			t.Errorf("rebinding Host to %s: %d", path, r.code)
		}
	}
}

func TestNonLoopbackNeedsAuth(t *testing.T) {
	_, _, err := startServe(t, func(c *config.Config) { c.Listen = "0.0.0.0:" + strings.Split(freeAddr(t), ":")[1] })
	if err == nil || !strings.Contains(err.Error(), "--insecure-no-auth") {
		t.Fatalf("non-loopback without auth: err = %v", err)
	}
	_, log, err := startServe(t, func(c *config.Config) {
		c.Listen = "0.0.0.0:" + strings.Split(freeAddr(t), ":")[1]
		c.Auth.InsecureNoAuth = true
	})
	if err != nil || !strings.Contains(log.String(), "AUTHENTICATION IS OFF") {
		t.Fatalf("--insecure-no-auth: err %v, log:\n%s", err, log)
	}
}

// The AI metric plugin sends no credential: its route is off by default, and in verdicts mode an
// unauthenticated call gets through (as a read-only identity) while a bad credential is still refused.
func TestPluginRouteModes(t *testing.T) {
	body := `{"context":{"namespace":"shop","rolloutName":"web"}}`
	off := newAuthServer(t, func(c *config.Config) { c.Auth.PluginRoute = "off" })
	if r := off.post(t, "/a2a/analyze", off.tokens["admin"], body); r.code != 404 {
		t.Fatalf("route off: %d", r.code)
	}
	v := newAuthServer(t, func(c *config.Config) { c.Auth.PluginRoute = "verdicts" })
	if r := v.post(t, "/a2a/analyze", "", body); r.code != 200 || !strings.Contains(r.body, "Inconclusive") {
		t.Fatalf("verdicts mode, no credential: %d %s", r.code, r.body)
	}
	if r := v.post(t, "/a2a/analyze", "fxl_bogus", body); r.code != 401 {
		t.Fatalf("verdicts mode, bad credential: %d", r.code)
	}
}

func TestRateLimitAndSessionCap(t *testing.T) {
	s := newAuthServer(t, func(c *config.Config) {
		c.Limits.RatePerSecond, c.Limits.RateBurst, c.Limits.MCPMaxSessions = 1, 3, 100
	})
	codes := []int{}
	for i := 0; i < 5; i++ {
		codes = append(codes, s.post(t, "/argo/v1/verdict", s.tokens["reader"], `{}`).code)
	}
	if codes[4] != 429 {
		t.Fatalf("5 quick requests at 1/s burst 3: %v", codes)
	}
	if r := s.post(t, "/argo/v1/verdict", s.tokens["writer"], `{}`); r.code == 429 {
		t.Fatal("another identity was limited by reader's traffic")
	}
	c := newAuthServer(t, func(c *config.Config) { c.Limits.MCPMaxSessions = 2 })
	for i := 0; i < 2; i++ {
		if r := c.post(t, "/mcp", c.tokens["reader"], mcpInit); r.code != 200 {
			t.Fatalf("session %d: %d", i, r.code)
		}
	}
	if r := c.post(t, "/mcp", c.tokens["reader"], mcpInit); r.code != 503 {
		t.Fatalf("session over the cap: %d %s", r.code, r.body)
	}
}

// The fixer agent needs scope fix: a read (or write) token cannot start a coding agent, and its card
// stays public for discovery.
func TestFixerAgentNeedsFixScope(t *testing.T) {
	st, _ := auth.NewStatic("")
	reader, fixer := "fxl_reader-token", "fxl_fixer-token"
	st.Add("reader", reader, []string{auth.ScopeRead, auth.ScopeWrite})
	st.Add("fixer-client", fixer, []string{auth.ScopeFix})
	h, err := agents.NewHost(agents.Config{Store: openTestStore(t)})
	if err != nil {
		t.Fatal(err)
	}
	noop := agents.NewExecutor(func(context.Context, agents.Input, agents.Progress) (*agents.Output, error) {
		return &agents.Output{Summary: "ok"}, nil
	})
	if err := h.Mount(agents.Agent{Name: "fixer", Card: &a2a.AgentCard{Name: "fixer"}, Executor: noop, Scope: auth.ScopeFix}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	sec := &security{authn: &auth.Authenticator{Static: st, ResourceMetadata: func(*http.Request) string { return "x" }}, host: h, sessions: newSessionCap(0, 0),
		set: securitySettings{MaxBodyBytes: 1 << 20, BodyTimeout: 5 * time.Second, WriteTimeout: time.Minute}}
	srv := httptest.NewServer(sec.wrap(mux))
	defer srv.Close()
	s := &authServer{base: srv.URL}
	send := `{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"id":"x"}}`
	checkShape(t, surface{name: "fixer", shape: "jsonrpc"}, s.post(t, "/agents/fixer", reader, send), 403, "insufficient_scope")
	if r := s.post(t, "/agents/fixer", fixer, send); r.code == 401 || r.code == 403 {
		t.Fatalf("fix token refused: %d %s", r.code, r.body)
	}
	if r := do(t, mustGet(t, srv.URL+"/agents/fixer/.well-known/agent-card.json")); r.code != 200 {
		t.Fatalf("fixer card: %d", r.code)
	}
}

func mustGet(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func openTestStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
