// Package fixloopserve starts the real `fixloop serve` binary for the suites under test/ that check it
// against other people's clients and test kits, and speaks to a running one as those clients do (the
// Argo AI metric plugin's request, for the cluster tests and benchmarks).
package fixloopserve

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fixloop/fixloop/internal/freeport"
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
	// Bin is the fixloop binary it runs; Home its private HOME (clients that start `fixloop mcp` over
	// stdio beside it can share it).
	Bin, Home string
	// Client reaches the server (with StartTLS, trusting only the given CA).
	Client *http.Client
	log    *lockedBuffer
	cmd    *exec.Cmd
}

// Log is what the server wrote to stderr so far.
func (s *Server) Log() string { return s.log.String() }

// Start runs `fixloop serve` on a free loopback port with a private HOME and state directory, plus env
// (e.g. FIXLOOP_KUBECONFIG=...), and waits until /healthz answers. It is stopped at the end of the test.
func Start(t testing.TB, env ...string) *Server {
	t.Helper()
	return StartArgs(t, nil, env...)
}

// StartArgs is Start with more `fixloop serve` flags (args).
func StartArgs(t testing.TB, args []string, env ...string) *Server {
	t.Helper()
	return start(t, "", args, env)
}

// StartTLS is StartArgs for a server given --tls-cert/--tls-key in args: Base is https://localhost:PORT
// and the readiness poll verifies the server's certificate against caFile.
func StartTLS(t testing.TB, caFile string, args []string, env ...string) *Server {
	t.Helper()
	return start(t, caFile, args, env)
}

func start(t testing.TB, caFile string, args, env []string) *Server {
	t.Helper()
	scheme, client := "http", http.DefaultClient
	if caFile != "" {
		scheme, client = "https", tlsClient(t, caFile)
	}
	bin := Bin(t)
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	cmd := exec.Command(bin, append([]string{"serve", "--listen", addr, "--state-dir", filepath.Join(home, "state")}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}, env...)
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(cmd) })
	_, port, _ := net.SplitHostPort(addr)
	s := &Server{Base: scheme + "://localhost:" + port, Bin: bin, Home: home, Client: client, log: logs, cmd: cmd}
	err = wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, time.Minute, true,
		func(context.Context) (bool, error) {
			resp, err := client.Get(scheme + "://" + addr + "/healthz")
			if err != nil {
				return false, nil // not listening yet
			}
			resp.Body.Close()
			return true, nil
		})
	if err != nil {
		t.Fatalf("fixloop serve did not answer /healthz within a minute:\n%s", logs.String())
	}
	return s
}

// tlsClient trusts only the CA in caFile.
func tlsClient(t testing.TB, caFile string) *http.Client {
	t.Helper()
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("%s holds no PEM certificate", caFile)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// Kill ends the server at once (SIGKILL), as a crash would, and waits for it to exit.
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	stop(s.cmd) // reaps it; the cleanup's stop then finds it done
}

// stop interrupts the server and kills it if it has not exited within 15 s.
func stop(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
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

// NpmCI installs the suite's pinned npm packages (package-lock.json in the current directory) into
// node_modules unless pkg (e.g. "@a2a-js/sdk") is already there. A missing node or npm fails the test.
func NpmCI(t testing.TB, pkg string) {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: install Node.js >= 18 (Debian: apt-get install nodejs npm)", tool)
		}
	}
	if _, err := os.Stat(filepath.Join("node_modules", pkg, "package.json")); err == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund").CombinedOutput(); err != nil {
		wd, _ := os.Getwd()
		t.Fatalf("npm ci in %s: %v\n%s", wd, err, out)
	}
}
