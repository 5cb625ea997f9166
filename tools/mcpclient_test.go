package tools_test

// Black-box helpers: every test here talks to a real `fixloop mcp` / `fixloop serve` process through
// mcp-go's own clients, as Claude or Cursor would.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/fixloop/fixloop/internal/testenv"
)

var build struct {
	once sync.Once
	bin  string
	err  error
}

// fixloopBin is $FIXLOOP_BIN or a binary built once for this test run.
func fixloopBin(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		if b := os.Getenv("FIXLOOP_BIN"); b != "" {
			build.bin, build.err = filepath.Abs(b)
			return
		}
		dir, err := os.MkdirTemp("", "fixloop-tools-test-")
		if err != nil {
			build.err = err
			return
		}
		build.bin = filepath.Join(dir, "fixloop")
		out, err := exec.Command("go", "build", "-o", build.bin, "github.com/fixloop/fixloop/cmd/fixloop").CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build fixloop (set FIXLOOP_BIN to use a prebuilt one): %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

// cleanEnv is a minimal environment: no KUBECONFIG or home kubeconfig unless extra adds one.
func cleanEnv(t testing.TB, extra ...string) []string {
	home := t.TempDir()
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_DATA_HOME=" + filepath.Join(home, "data")}, extra...)
}

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// stdioClient launches `fixloop mcp args...` and initializes an MCP session (protocol "" = newest).
func stdioClient(t testing.TB, env []string, protocol string, args ...string) *client.Client {
	t.Helper()
	bin := fixloopBin(t)
	stderr := &logBuf{}
	c, err := client.NewStdioMCPClientWithOptions(bin, env, append([]string{"mcp"}, args...),
		transport.WithCommandFunc(func(ctx context.Context, command string, env []string, args []string) (*exec.Cmd, error) {
			cmd := exec.CommandContext(ctx, command, args...)
			cmd.Env = env // exactly env: no inherited KUBECONFIG
			return cmd, nil
		}),
		transport.WithCommandStderrWriter(stderr))
	if err != nil {
		t.Fatalf("start fixloop mcp: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		if t.Failed() {
			t.Logf("fixloop mcp stderr:\n%s", stderr.String())
		}
	})
	initialize(t, c, protocol)
	return c
}

// httpServer starts `fixloop serve` on a free loopback port and returns its base URL.
func httpServer(t testing.TB, env []string, args ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(fixloopBin(t), append([]string{"serve", "--listen", addr}, args...)...)
	cmd.Env = env
	stderr := &logBuf{}
	cmd.Stderr, cmd.Stdout = stderr, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("fixloop serve output:\n%s", stderr.String())
		}
	})
	base := "http://" + addr
	testenv.WaitFor(t, "fixloop serve to answer /healthz", 50*time.Millisecond, 20*time.Second, func() (bool, string) {
		select {
		case <-done:
			t.Fatalf("fixloop serve exited early:\n%s", stderr.String())
		default:
		}
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false, err.Error() + "\n" + stderr.String()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, fmt.Sprintf("status %d\n%s", resp.StatusCode, stderr.String())
	})
	return base
}

func httpClient(t testing.TB, base, protocol string) *client.Client {
	t.Helper()
	c, err := client.NewStreamableHttpClient(base+"/mcp", transport.WithHTTPTimeout(3*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	initialize(t, c, protocol)
	return c
}

func initialize(t testing.TB, c *client.Client, protocol string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = protocol
	req.Params.ClientInfo = mcp.Implementation{Name: "fixloop-test", Version: "1"}
	res, err := c.Initialize(ctx, req)
	if err != nil {
		t.Fatalf("initialize (protocol %q): %v", protocol, err)
	}
	if protocol != "" && res.ProtocolVersion != protocol {
		t.Fatalf("server negotiated %s, want %s", res.ProtocolVersion, protocol)
	}
}

func toolNames(t testing.TB, c *client.Client) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	return names
}

// call invokes a tool and returns the result; the caller checks IsError.
func call(t testing.TB, c *client.Client, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("tools/call %s: %v", name, err)
	}
	return res
}

func text(r *mcp.CallToolResult) string {
	var parts []string
	for _, c := range r.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// callOK calls a tool, fails on isError, and decodes the structured output into out.
func callOK(t testing.TB, c *client.Client, name string, args map[string]any, out any) {
	t.Helper()
	r := call(t, c, name, args)
	if r.IsError {
		t.Fatalf("%s(%v) returned an error: %s", name, args, text(r))
	}
	raw, err := json.Marshal(r.StructuredContent)
	if err != nil || r.StructuredContent == nil {
		t.Fatalf("%s: no structured content (%v); text: %s", name, err, text(r))
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("%s: structured content does not decode: %v\n%s", name, err, raw)
	}
}

func execCommand(bin string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Cancel = func() error { cancel(); return cmd.Process.Kill() }
	return cmd
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
