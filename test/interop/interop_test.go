// Package interop proves fixloop's MCP server works with the official MCP TypeScript SDK client
// (npm @modelcontextprotocol/sdk, pinned in package-lock.json) over stdio and streamable HTTP.
package interop

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/fixloop/fixloop/test/fixloopserve"
)

func TestTypeScriptSDKClient(t *testing.T) {
	fixloopserve.NpmCI(t, "@modelcontextprotocol/sdk")
	// No cluster configured: a newcomer's first run.
	srv := fixloopserve.Start(t)
	bin, base, home := srv.Bin, srv.Base, srv.Home

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "interop.mjs", bin, base)
	cmd.Env = append(os.Environ(), "FIXLOOP_INTEROP_HOME="+home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("TypeScript SDK client failed: %v\nreport:\n%s\nstderr:\n%s\nserver log:\n%s", err, stdout.String(), stderr.String(), srv.Log())
	}
	t.Logf("report:\n%s", stdout.String())
}
