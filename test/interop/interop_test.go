// Package interop proves fixloop's MCP server works with the official MCP TypeScript SDK client
// (npm @modelcontextprotocol/sdk, pinned in package-lock.json) over stdio and streamable HTTP.
package interop

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func fixloopBin(t *testing.T) string {
	if b := os.Getenv("FIXLOOP_BIN"); b != "" {
		abs, err := filepath.Abs(b)
		if err != nil {
			t.Fatal(err)
		}
		return abs
	}
	bin := filepath.Join(t.TempDir(), "fixloop")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/fixloop/fixloop/cmd/fixloop").CombinedOutput()
	if err != nil {
		t.Fatalf("go build fixloop (or set FIXLOOP_BIN): %v\n%s", err, out)
	}
	return bin
}

// npmInstall installs the pinned SDK into node_modules (gitignored) unless it is already there.
func npmInstall(t *testing.T) {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: install Node.js >= 18 (Debian: apt-get install nodejs npm) to run the MCP interop test", tool)
		}
	}
	if _, err := os.Stat("node_modules/@modelcontextprotocol/sdk/package.json"); err == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund").CombinedOutput()
	if err != nil {
		t.Fatalf("npm ci in test/interop: %v\n%s", err, out)
	}
}

func TestTypeScriptSDKClient(t *testing.T) {
	npmInstall(t)
	bin := fixloopBin(t)
	home := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home} // no cluster: a newcomer's first run

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	serve := exec.Command(bin, "serve", "--listen", addr)
	serve.Env = env
	var serveLog bytes.Buffer
	serve.Stderr = &serveLog
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		serve.Process.Signal(os.Interrupt)
		serve.Wait()
	}()
	base := "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fixloop serve did not start:\n%s", serveLog.String())
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "interop.mjs", bin, base)
	cmd.Env = append(os.Environ(), "FIXLOOP_INTEROP_HOME="+home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("TypeScript SDK client failed: %v\nreport:\n%s\nstderr:\n%s\nserver log:\n%s", err, stdout.String(), stderr.String(), serveLog.String())
	}
	t.Logf("report:\n%s", stdout.String())
}
