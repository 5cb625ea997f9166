// Package fixloopserve starts the real `fixloop serve` binary for the suites under test/ that check it
// against other people's clients and test kits.
package fixloopserve

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Bin is FIXLOOP_BIN (what `make test` builds) or a fresh build of cmd/fixloop.
func Bin(t testing.TB) string {
	t.Helper()
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

// Server is a running `fixloop serve`.
type Server struct {
	// Base is http://localhost:PORT (a host name, not 127.0.0.1: the A2A TCK flags loopback IPs in cards).
	Base string
	log  *lockedBuffer
}

// Log is what the server wrote to stderr so far.
func (s *Server) Log() string { return s.log.String() }

// Start runs `fixloop serve` on a free loopback port with a private HOME and state directory, plus env
// (e.g. FIXLOOP_KUBECONFIG=...), and waits until /healthz answers. It is stopped at the end of the test.
func Start(t testing.TB, env ...string) *Server {
	t.Helper()
	bin := Bin(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	home := t.TempDir()
	cmd := exec.Command(bin, "serve", "--listen", addr, "--state-dir", filepath.Join(home, "state"))
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}, env...)
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	_, port, _ := net.SplitHostPort(addr)
	s := &Server{Base: "http://localhost:" + port, log: logs}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return s
		}
		select {
		case <-ctx.Done():
			t.Fatalf("fixloop serve did not answer /healthz within 30s:\n%s", logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// NotApplicable reads test/not-applicable.txt: one "<suite> <scenario> <reason...>" per line, # comments.
// It returns scenario → reason for suite, and fails the test on a line without a reason.
func NotApplicable(t testing.TB, file, suite string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for i, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			t.Fatalf("%s:%d: want \"<suite> <scenario> <reason>\", got %q", file, i+1, line)
		}
		if f[0] == suite {
			out[f[1]] = strings.Join(f[2:], " ")
		}
	}
	return out
}
