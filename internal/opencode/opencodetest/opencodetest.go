// Package opencodetest runs a real `opencode serve` wired to a scripted LLM for tests: one shared
// server per test binary (each costs ~0.6 GB and several seconds), scratch git repositories, and the
// install-or-skip rule (tests skip only when OpenCode truly cannot be installed).
package opencodetest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fixloop/fixloop/internal/opencode"
	"github.com/fixloop/fixloop/internal/opencode/scriptedllm"
)

// Env is a running scripted LLM plus an OpenCode server that uses it.
type Env struct {
	LLM       *scriptedllm.Server
	Server    *opencode.Server
	Client    *opencode.Client
	StartTime time.Duration // how long `opencode serve` took to become healthy
}

var (
	mu       sync.Mutex
	shared   *Env
	sharedEr error
	binOnce  sync.Once
	binPath  string
	binErr   error
)

// Binary returns the opencode binary, installing it with hack/install-opencode.sh when missing.
// It skips the test (loudly) only when the install itself fails.
func Binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if binPath, binErr = opencode.FindBinary(); binErr == nil {
			return
		}
		script, err := repoFile("hack/install-opencode.sh")
		if err != nil {
			binErr = fmt.Errorf("%v; and %v", binErr, err)
			return
		}
		out, err := exec.Command("bash", script).Output()
		if err != nil {
			binErr = fmt.Errorf("hack/install-opencode.sh failed: %v", err)
			return
		}
		binPath, binErr = opencode.FindBinary()
		_ = out
	})
	if binErr != nil {
		t.Skipf("SKIPPED: OpenCode cannot be installed on this machine (%v); the fixer's end-to-end tests need it", binErr)
	}
	return binPath
}

func repoFile(rel string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, rel), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("repository root (go.mod) not found above the test directory")
		}
		dir = parent
	}
}

// Shared returns the test binary's OpenCode server and scripted LLM, starting them on first use.
// Call Main from TestMain to stop them at the end.
func Shared(t testing.TB) *Env {
	t.Helper()
	bin := Binary(t)
	mu.Lock()
	defer mu.Unlock()
	if shared == nil && sharedEr == nil {
		shared, sharedEr = Start(bin, nil)
	}
	if sharedEr != nil {
		t.Fatalf("start opencode serve: %v", sharedEr)
	}
	return shared
}

// SharedStartTime is how long the shared server took to become healthy (0 before it started).
func SharedStartTime() time.Duration {
	mu.Lock()
	defer mu.Unlock()
	if shared == nil {
		return 0
	}
	return shared.StartTime
}

// Start launches a scripted LLM and an OpenCode server (not shared; call Stop).
func Start(bin string, env []string) (*Env, error) {
	llm := scriptedllm.New()
	if err := llm.Start(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out *os.File
	if os.Getenv("FIXLOOP_OPENCODE_LOG") != "" {
		out = os.Stderr
	}
	t0 := time.Now()
	o := opencode.ServerOptions{Binary: bin, Provider: opencode.ProviderConfig{BaseURL: llm.URL, APIKey: "test-key"}, Env: env}
	if out != nil {
		o.Output = out
	}
	srv, err := opencode.StartServer(ctx, o)
	if err != nil {
		llm.Close()
		return nil, err
	}
	c, err := opencode.NewClient(srv.URL)
	if err != nil {
		srv.Stop()
		llm.Close()
		return nil, err
	}
	return &Env{LLM: llm, Server: srv, Client: c, StartTime: time.Since(t0)}, nil
}

// Stop ends the server and the scripted LLM.
func (e *Env) Stop() {
	e.Server.Stop()
	e.LLM.Close()
}

// Main runs the tests and stops the shared environment.
func Main(m *testing.M) {
	code := m.Run()
	mu.Lock()
	if shared != nil {
		shared.Stop()
	}
	mu.Unlock()
	os.Exit(code)
}

// GitRepo creates a scratch git repository on branch main with files committed.
func GitRepo(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	Git(t, dir, "init", "-q", "-b", "main")
	Git(t, dir, "add", "-A")
	Git(t, dir, "commit", "-q", "-m", "initial commit")
	return dir
}

// Git runs git in dir with a fixed identity and fails the test on error.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@localhost",
		"GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@localhost")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v in %s: %v\n%s", args, dir, err, out)
	}
	return string(out)
}
