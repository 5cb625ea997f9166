package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/auth/authtest"
	"github.com/fixloop/fixloop/internal/config"
	"github.com/fixloop/fixloop/internal/freeport"
)

// authServer is `fixloop serve` run in-process with an auth file and a local OIDC issuer.
type authServer struct {
	base   string
	tokens map[string]string // name → token
	is     *authtest.Issuer
	log    *strings.Builder
}

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// startServe runs runServe until the test ends; edit adjusts the configuration first.
func startServe(t *testing.T, edit func(*config.Config)) (string, *strings.Builder, error) {
	t.Helper()
	cfg := config.Default()
	cfg.Listen = freeAddr(t)
	cfg.StateDir = t.TempDir()
	t.Setenv("KUBECONFIG", "") // no cluster: every route still answers (the auth layer is in front)
	if edit != nil {
		edit(cfg)
	}
	var logBuf strings.Builder
	logger := slog.New(slog.NewTextHandler(&syncWriter{b: &logBuf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- runServe(ctx, cfg, logger) }()
	t.Cleanup(func() { cancel(); <-errc })
	base, probe := "http://"+cfg.Listen, http.DefaultClient
	if cfg.TLS.Enabled() {
		// Readiness only: the TLS tests verify the certificate with their own client.
		base, probe = "https://"+cfg.Listen, &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	}
	var exitErr error
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		select {
		case exitErr = <-errc:
			errc <- exitErr
			return true, nil
		default:
		}
		resp, err := probe.Get(base + "/healthz")
		if err != nil {
			return false, nil // not listening yet
		}
		resp.Body.Close()
		return true, nil
	})
	if err != nil {
		t.Fatalf("fixloop serve did not answer /healthz:\n%s", logBuf.String())
	}
	return base, &logBuf, exitErr
}

func newAuthServer(t *testing.T, edit func(*config.Config)) *authServer {
	t.Helper()
	s := &authServer{tokens: map[string]string{}, is: authtest.NewIssuer(t)}
	var file strings.Builder
	file.WriteString("tokens:\n")
	for name, scopes := range map[string]string{"reader": "[read]", "writer": "[read, write]", "noscope": "[]", "admin": "[admin]"} {
		tok, _ := auth.NewToken()
		s.tokens[name] = tok
		fmt.Fprintf(&file, "- name: %s\n  sha256: %s\n  scopes: %s\n", name, auth.HashToken(tok), scopes)
	}
	path := filepath.Join(t.TempDir(), "auth.yaml")
	if err := os.WriteFile(path, []byte(file.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	base, log, err := startServe(t, func(c *config.Config) {
		c.Auth.File, c.Auth.OIDCIssuer, c.Auth.OIDCAudience = path, s.is.URL(), "fixloop"
		c.Auth.PluginRoute = "authenticated"
		if edit != nil {
			edit(c)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	s.base, s.log = base, log
	return s
}

type syncWriter struct {
	b  *strings.Builder
	mu sync.Mutex
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

type reply struct {
	code   int
	header http.Header
	body   string
}

func (s *authServer) post(t *testing.T, path, token, body string, hdr ...string) reply {
	t.Helper()
	req, _ := http.NewRequest("POST", s.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return reply{resp.StatusCode, resp.Header, string(b)}
}

const mcpInit = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"matrix","version":"1"}}}`

// surface is one entry point and how it answers a refused request.
type surface struct {
	name, method, path, body string
	shape                    string // mcp | jsonrpc | json
}

var surfaces = []surface{
	{"MCP streamable HTTP", "POST", "/mcp", mcpInit, "mcp"},
	{"A2A JSON-RPC 1.0", "POST", "/agents/triage", `{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"x"}}`, "jsonrpc"},
	{"A2A JSON-RPC 0.3", "POST", "/agents/triage", `{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"id":"x"}}`, "jsonrpc"},
	{"AI metric plugin", "POST", "/a2a/analyze", `{"context":{"namespace":"shop","rolloutName":"web"}}`, "json"},
	{"web metric provider", "POST", "/argo/v1/verdict", `{"namespace":"shop","rollout":"web"}`, "json"},
	{"metrics", "GET", "/metrics", "", "json"},
	{"agent index", "GET", "/agents", "", "json"},
	{"verdict report", "GET", "/reports/00000000000000000000000000000000", "", "json"},
}

func (s *authServer) call(t *testing.T, sf surface, token string) reply {
	t.Helper()
	req, _ := http.NewRequest(sf.method, s.base+sf.path, strings.NewReader(sf.body))
	if sf.body != "" {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

// checkShape asserts the refusal is in the surface's own protocol: an RFC 6750/9728 challenge
// everywhere, a JSON-RPC error with A2A's code on A2A, OAuth's JSON error elsewhere.
func checkShape(t *testing.T, sf surface, r reply, status int, oauthErr string) {
	t.Helper()
	if r.code != status {
		t.Fatalf("status %d, want %d: %s", r.code, status, r.body)
	}
	ch := r.header.Get("WWW-Authenticate")
	if !strings.HasPrefix(ch, "Bearer ") || !strings.Contains(ch, `resource_metadata="`) || oauthErr != "" && !strings.Contains(ch, `error="`+oauthErr+`"`) {
		t.Fatalf("WWW-Authenticate = %q (want error=%q)", ch, oauthErr)
	}
	switch sf.shape {
	case "jsonrpc":
		var m struct {
			JSONRPC string `json:"jsonrpc"`
			Error   struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		want := map[int]int{401: -31401, 403: -31403}[status]
		if json.Unmarshal([]byte(r.body), &m) != nil || m.JSONRPC != "2.0" || m.Error.Code != want || m.Error.Message == "" {
			t.Fatalf("not a JSON-RPC error with code %d: %s", want, r.body)
		}
	default:
		var m map[string]string
		if json.Unmarshal([]byte(r.body), &m) != nil || m["error"] == "" || m["error_description"] == "" {
			t.Fatalf("not an OAuth JSON error: %s", r.body)
		}
	}
}

// Every surface refuses missing, invalid, expired and wrong-audience credentials (401) and a credential
// without the scope (403), each in its protocol's shape; the right credential gets through.
func TestAuthMatrix(t *testing.T) {
	s := newAuthServer(t, nil)
	oidc := func(o authtest.TokenOpts) string {
		o.KID, o.Sub = "k1", "matrix"
		return s.is.Token(t, o)
	}
	creds := []struct {
		name, token string
		status      int
		oauthErr    string
	}{
		{"missing", "", 401, ""},
		{"invalid", "fxl_not-a-real-token", 401, "invalid_token"},
		{"expired OIDC", oidc(authtest.TokenOpts{Aud: "fixloop", Scope: "read", Lifetime: -time.Minute}), 401, "invalid_token"},
		{"wrong-audience OIDC", oidc(authtest.TokenOpts{Aud: "someone-else", Scope: "read"}), 401, "invalid_token"},
		{"foreign issuer", authtest.NewIssuer(t).Token(t, authtest.TokenOpts{KID: "k1", Aud: "fixloop", Scope: "read"}), 401, "invalid_token"},
		{"no scope (static)", s.tokens["noscope"], 403, "insufficient_scope"},
		{"no scope (OIDC)", oidc(authtest.TokenOpts{Aud: "fixloop", Scope: "openid email"}), 403, "insufficient_scope"},
	}
	for _, sf := range surfaces {
		for _, c := range creds {
			t.Run(sf.name+"/"+c.name, func(t *testing.T) { checkShape(t, sf, s.call(t, sf, c.token), c.status, c.oauthErr) })
		}
		for name, tok := range map[string]string{"static read token": s.tokens["reader"], "OIDC read token": oidc(authtest.TokenOpts{Aud: "fixloop", Scope: "read"})} {
			t.Run(sf.name+"/"+name, func(t *testing.T) {
				if r := s.call(t, sf, tok); r.code == 401 || r.code == 403 {
					t.Fatalf("refused a valid credential: %d %s", r.code, r.body)
				}
			})
		}
	}
}

// MCP clients discover the authorization server from the challenge (MCP authorization spec, RFC 9728).
func TestProtectedResourceMetadata(t *testing.T) {
	s := newAuthServer(t, nil)
	r := s.post(t, "/mcp", "", mcpInit)
	ch := r.header.Get("WWW-Authenticate")
	i := strings.Index(ch, `resource_metadata="`)
	if i < 0 {
		t.Fatalf("no resource_metadata in %q", ch)
	}
	url := strings.SplitN(ch[i+len(`resource_metadata="`):], `"`, 2)[0]
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var md struct {
		Resource string   `json:"resource"`
		AS       []string `json:"authorization_servers"`
		Scopes   []string `json:"scopes_supported"`
	}
	json.NewDecoder(resp.Body).Decode(&md)
	if md.Resource != s.base+"/mcp" || len(md.AS) != 1 || md.AS[0] != s.is.URL() || len(md.Scopes) == 0 {
		t.Fatalf("metadata = %+v", md)
	}
}
