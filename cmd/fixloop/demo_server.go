package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/freeport"
	"github.com/fixloop/fixloop/internal/testenv"
)

func (d *demo) startServe(ctx context.Context, self string) error {
	ghDir := filepath.Join(d.dir, "github")
	if err := os.MkdirAll(ghDir, 0o755); err != nil {
		return err
	}
	urlFile := filepath.Join(ghDir, "url")
	_ = os.Remove(urlFile)
	// A fresh demo starts with no issues and no cached verdicts (the same pod template gives the same
	// revision hash every run, so old verdicts would be found again).
	_ = os.Remove(filepath.Join(ghDir, "state.json"))
	_ = os.RemoveAll(filepath.Join(d.dir, "fixloop-state"))
	_ = os.RemoveAll(filepath.Join(d.dir, "fixer-state"))
	_ = os.RemoveAll(filepath.Join(ghDir, "shop.git"))
	base := os.Environ()
	// The demo app's repository (with the palette bug the bad release ships), so the fixer has something
	// to clone, branch and push to; the sink answers the branches API from it.
	d.repo = filepath.Join(ghDir, "shop.git")
	if err := seedDemoRepo(d.repo); err != nil {
		return fmt.Errorf("creating the demo repository: %w", err)
	}
	if err := testenv.StartTracked(d.dir, "github-sink", self,
		[]string{"github-sink", "--listen", "127.0.0.1:0", "--state", filepath.Join(ghDir, "state.json"), "--url-file", urlFile,
			"--repo", demoRepo + "=" + d.repo}, base); err != nil {
		return err
	}
	if err := waitFor(ctx, 15*time.Second, "the issue sink to listen", func() bool {
		b, err := os.ReadFile(urlFile)
		d.sinkURL = strings.TrimSpace(string(b))
		return err == nil && d.sinkURL != ""
	}); err != nil {
		return err
	}

	port, err := freeport.Get()
	if err != nil {
		return err
	}
	d.serve = fmt.Sprintf("http://127.0.0.1:%d", port)
	authFile, err := d.writeAuthFile()
	if err != nil {
		return err
	}
	env := append(base,
		"FIXLOOP_AUTH_FILE="+authFile,
		"FIXLOOP_KUBECONFIG="+d.env.Kubeconfig,
		"FIXLOOP_PROMETHEUS_URL="+d.env.PrometheusURL,
		"FIXLOOP_STATE_DIR="+filepath.Join(d.dir, "fixloop-state"),
		"FIXLOOP_GITHUB_BASE_URL="+d.sinkURL,
		"FIXLOOP_GITHUB_TOKEN=demo-token",
		"FIXLOOP_GITHUB_REPO="+demoRepo,
	)
	env = append(env, monitorEnv()...)
	if err := testenv.StartTracked(d.dir, "fixloop-serve", self, []string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port)}, env); err != nil {
		return err
	}
	return waitFor(ctx, 30*time.Second, "fixloop serve to be ready (log: "+filepath.Join(d.dir, "logs", "fixloop-serve.log")+")", func() bool {
		resp, err := http.Get(d.serve + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func (d *demo) connectMCP(ctx context.Context) error {
	c, err := client.NewStreamableHttpClient(d.serve+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + d.token}))
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "fixloop-demo", Version: version}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	if _, err := c.Initialize(ctx, init); err != nil {
		return fmt.Errorf("MCP initialize against %s/mcp: %w", d.serve, err)
	}
	tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return err
	}
	var names []string
	for _, t := range tools.Tools {
		names = append(names, t.Name)
	}
	d.say("an MCP client (the same one Claude or Cursor would use) sees %d tools: %s", len(names), strings.Join(names, ", "))
	d.mcp = c
	return nil
}

// callTool calls an MCP tool and decodes its structured result into out.
func (d *demo) callTool(ctx context.Context, name string, args map[string]any, out any) error {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	res, err := d.mcp.CallTool(ctx, req)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if res.IsError {
		return fmt.Errorf("%s: %s", name, toolText(res))
	}
	if out == nil {
		return nil
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

func toolText(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if t, ok := c.(mcp.TextContent); ok {
			parts = append(parts, t.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// writeAuthFile makes the demo's tokens (the operator's, admin; Argo's web provider's, read and issue)
// and the auth file fixloop serve checks them against (hashes only). The operator's token is left in
// <dir>/token for the reader to try the endpoints with.
func (d *demo) writeAuthFile() (string, error) {
	var err error
	if d.token, err = auth.NewToken(); err != nil {
		return "", err
	}
	if d.argoTok, err = auth.NewToken(); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(d.dir, "token"), []byte(d.token+"\n"), 0o600); err != nil {
		return "", err
	}
	file := filepath.Join(d.dir, "auth.yaml")
	body := fmt.Sprintf("tokens:\n- name: demo-operator\n  sha256: %s\n  scopes: [admin]\n- name: argo-rollouts\n  sha256: %s\n  scopes: [read, issue]\n",
		auth.HashToken(d.token), auth.HashToken(d.argoTok))
	return file, os.WriteFile(file, []byte(body), 0o600)
}
