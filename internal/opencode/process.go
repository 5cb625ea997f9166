package opencode

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Version is the OpenCode release fixloop is written and tested against.
const Version = "1.18.33"

// ProviderConfig describes the OpenAI-compatible model OpenCode should use.
type ProviderConfig struct {
	BaseURL string // e.g. http://127.0.0.1:PORT/v1
	APIKey  string
	Model   string // model id sent to the endpoint (default "fake-model")
	// ProviderID is the provider name in OpenCode's config (default "fixloop").
	ProviderID string
	// Gemini uses OpenCode's built-in Google provider with APIKey instead of an OpenAI-compatible URL.
	Gemini bool
}

func (p ProviderConfig) withDefaults() ProviderConfig {
	if p.Model == "" {
		p.Model = "fake-model"
	}
	if p.ProviderID == "" {
		p.ProviderID = "fixloop"
	}
	if p.APIKey == "" {
		p.APIKey = "none"
	}
	return p
}

// Permissions is the OpenCode permission config fixloop runs with. Nobody is there to answer "ask", so
// every rule is allow or deny: everything is denied (web fetch/search, paths outside the work tree,
// subagents...) except reading and editing inside the work tree and a short list of git commands to
// inspect and commit. There is no push, no network tool and no shell beyond those: fixloop pushes the
// branch and opens the pull request itself. The last matching rule wins, so "*" comes first.
func Permissions() map[string]any {
	bash := map[string]any{"*": "deny"}
	// Build and test commands run the repository's own code, which is the operator's allowed repository;
	// OpenCode's environment holds no credential but the model key (see passEnv).
	for _, c := range []string{"git status", "git diff", "git log", "git show", "git add", "git commit", "git checkout", "git switch", "git restore", "git rm", "git mv", "go build", "go vet", "go test"} {
		bash[c] = "allow"
		bash[c+" *"] = "allow"
	}
	// Commands that could reach the network or change git's configuration stay denied even after "git *"-style growth.
	for _, c := range []string{"git push *", "git remote *", "git config *", "git -c *", "git fetch *", "git clone *", "git submodule *", "git credential *"} {
		bash[c] = "deny"
	}
	return map[string]any{
		"*": "deny", "read": "allow", "glob": "allow", "grep": "allow", "list": "allow", "edit": "allow",
		"todowrite": "allow", "todoread": "allow",
		"bash": bash, "webfetch": "deny", "websearch": "deny", "external_directory": "deny", "doom_loop": "deny",
	}
}

// Config renders an OPENCODE_CONFIG document that works offline: one OpenAI-compatible provider, no
// autoupdate, no sharing, and fixloop's narrow Permissions.
func Config(p ProviderConfig) []byte {
	if p.Gemini {
		model := p.Model
		if model == "" {
			model = "gemini-2.5-flash"
		}
		b, _ := json.MarshalIndent(map[string]any{
			"autoupdate": false, "share": "disabled", "model": "google/" + model, "small_model": "google/" + model,
			"enabled_providers": []string{"google"},
			"permission":        Permissions(),
		}, "", "  ")
		return b
	}
	p = p.withDefaults()
	ref := p.ProviderID + "/" + p.Model
	cfg := map[string]any{
		"$schema":           "https://opencode.ai/config.json",
		"autoupdate":        false,
		"share":             "disabled",
		"model":             ref,
		"small_model":       ref,
		"enabled_providers": []string{p.ProviderID},
		"permission":        Permissions(),
		"provider": map[string]any{
			p.ProviderID: map[string]any{
				"npm":     "@ai-sdk/openai-compatible",
				"name":    "fixloop " + p.ProviderID,
				"options": map[string]any{"baseURL": p.BaseURL, "apiKey": p.APIKey},
				"models": map[string]any{
					p.Model: map[string]any{"name": p.Model, "tool_call": true, "limit": map[string]any{"context": 128000, "output": 4096}},
				},
			},
		},
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	return b
}

// OfflineEnv is the environment that keeps OpenCode from reaching the network on its own.
var OfflineEnv = []string{
	"OPENCODE_DISABLE_MODELS_FETCH=1",
	"OPENCODE_DISABLE_AUTOUPDATE=1",
	"OPENCODE_DISABLE_SHARE=1",
	"OPENCODE_DISABLE_LSP_DOWNLOAD=1",
}

// ServerOptions configures StartServer.
type ServerOptions struct {
	// Binary is the opencode executable; default FindBinary().
	Binary string
	// Dir is where the server starts; must be inside a git repository (else its worktree is "/").
	// Default: a fresh git repository under StateDir.
	Dir string
	// StateDir holds the private HOME and XDG directories; default a new temp dir (removed on Stop).
	StateDir string
	// Provider configures the model; ignored when ConfigJSON is set.
	Provider   ProviderConfig
	ConfigJSON []byte
	Env        []string // extra KEY=VALUE entries
	Port       int      // 0: let opencode choose
	// Output receives the server's stdout/stderr (nil: discarded, last lines kept for errors).
	Output       io.Writer
	StartTimeout time.Duration // default 90s
}

// Server is a running `opencode serve` process.
type Server struct {
	URL      string
	Dir      string
	StateDir string
	cmd      *exec.Cmd
	done     chan struct{}
	waitErr  error
	ownState bool
	tail     *tailBuffer
	stopOnce sync.Once
}

var listenLine = regexp.MustCompile(`opencode server listening on (http://[^\s]+)`)

// FindBinary locates the opencode platform binary: $FIXLOOP_OPENCODE_BIN, then the cache that
// hack/install-opencode.sh fills ($FIXLOOP_CACHE or ~/.cache/fixloop), then `opencode` on PATH.
func FindBinary() (string, error) {
	if p := os.Getenv("FIXLOOP_OPENCODE_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("FIXLOOP_OPENCODE_BIN=%s: %w", p, err)
		}
		return p, nil
	}
	cache := os.Getenv("FIXLOOP_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "fixloop")
	}
	arch := map[string]string{"amd64": "x64", "arm64": "arm64"}[runtime.GOARCH]
	p := filepath.Join(cache, "opencode-"+Version, "node_modules", "opencode-"+runtime.GOOS+"-"+arch, "bin", "opencode")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	if p, err := exec.LookPath("opencode"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("opencode binary not found: run hack/install-opencode.sh (installs npm opencode-ai@%s into %s) or set FIXLOOP_OPENCODE_BIN", Version, filepath.Dir(filepath.Dir(p)))
}

// StartServer runs `opencode serve` with private state and waits until it listens and answers health.
func StartServer(ctx context.Context, o ServerOptions) (*Server, error) {
	if o.Binary == "" {
		b, err := FindBinary()
		if err != nil {
			return nil, err
		}
		o.Binary = b
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 90 * time.Second
	}
	s := &Server{tail: &tailBuffer{max: 8 << 10}, done: make(chan struct{})}
	home, cfgPath, err := s.prepare(&o)
	if err != nil {
		return nil, err
	}
	cmd := serveCommand(o, home, cfgPath)
	urlCh, err := s.start(cmd, o.Output)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", o.Binary, err)
	}
	timer := time.NewTimer(o.StartTimeout)
	defer timer.Stop()
	select {
	case u := <-urlCh:
		s.URL = u
	case <-s.done:
		s.cleanup()
		return nil, fmt.Errorf("opencode serve exited during start (%v); output:\n%s", s.waitErr, s.tail.String())
	case <-timer.C:
		s.Stop()
		return nil, fmt.Errorf("opencode serve did not print its listening address within %s; output:\n%s", o.StartTimeout, s.tail.String())
	case <-ctx.Done():
		s.Stop()
		return nil, ctx.Err()
	}
	if err := s.awaitHealthy(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// prepare makes the server's private state: a HOME with XDG directories, a git workspace when none is
// given, and the OpenCode config file. It returns the HOME and the config's path.
func (s *Server) prepare(o *ServerOptions) (home, cfgPath string, err error) {
	if o.StateDir == "" {
		d, err := os.MkdirTemp("", "fixloop-opencode-")
		if err != nil {
			return "", "", err
		}
		o.StateDir, s.ownState = d, true
	}
	s.StateDir = o.StateDir
	home = filepath.Join(o.StateDir, "home")
	for _, d := range []string{home, filepath.Join(home, ".config"), filepath.Join(home, ".local", "share"), filepath.Join(home, ".cache"), filepath.Join(home, ".local", "state")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", "", err
		}
	}
	if o.Dir == "" {
		o.Dir = filepath.Join(o.StateDir, "workspace")
		if err := os.MkdirAll(o.Dir, 0o755); err != nil {
			return "", "", err
		}
		if out, err := exec.Command("git", "-C", o.Dir, "init", "-q").CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("git init %s: %v: %s", o.Dir, err, out)
		}
	}
	s.Dir = o.Dir
	cfg := o.ConfigJSON
	if cfg == nil {
		cfg = Config(o.Provider)
	}
	cfgPath = filepath.Join(o.StateDir, "opencode.json")
	return home, cfgPath, os.WriteFile(cfgPath, cfg, 0o600)
}

// serveCommand is `opencode serve` on loopback with the private HOME, the config and a filtered
// environment (see passEnv).
func serveCommand(o ServerOptions, home, cfgPath string) *exec.Cmd {
	args := []string{"serve", "--port", strconv.Itoa(o.Port), "--hostname", "127.0.0.1"}
	cmd := exec.Command(o.Binary, args...)
	cmd.Dir = o.Dir
	cmd.Env = append(filteredEnv(),
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"XDG_STATE_HOME="+filepath.Join(home, ".local", "state"),
		"OPENCODE_CONFIG="+cfgPath,
		// git commits made by the agent need an identity; the private HOME has no ~/.gitconfig.
		"GIT_AUTHOR_NAME=fixloop", "GIT_AUTHOR_EMAIL=fixloop@localhost",
		"GIT_COMMITTER_NAME=fixloop", "GIT_COMMITTER_EMAIL=fixloop@localhost",
	)
	cmd.Env = append(cmd.Env, OfflineEnv...)
	cmd.Env = append(cmd.Env, gitHardening...)
	if o.Provider.Gemini && o.ConfigJSON == nil {
		cmd.Env = append(cmd.Env, "GOOGLE_GENERATIVE_AI_API_KEY="+o.Provider.APIKey)
	}
	cmd.Env = append(cmd.Env, o.Env...)
	// Own process group: Stop kills opencode and every shell/tool it spawned.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// start runs cmd, keeps the tail of its output (copied to output when set) and sends the listening
// URL it prints on the returned channel.
func (s *Server) start(cmd *exec.Cmd, output io.Writer) (<-chan string, error) {
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s.cmd = cmd
	go func() {
		s.waitErr = cmd.Wait()
		pw.Close()
		close(s.done)
	}()
	urlCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			s.tail.WriteLine(line)
			if output != nil {
				fmt.Fprintln(output, line)
			}
			if m := listenLine.FindStringSubmatch(line); m != nil && !sent {
				urlCh <- strings.TrimRight(m[1], "/")
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	return urlCh, nil
}

// awaitHealthy polls the server's health endpoint for up to 30 s.
func (s *Server) awaitHealthy(ctx context.Context) error {
	c, err := NewClient(s.URL)
	if err != nil {
		return err
	}
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		if _, err = c.Health(hctx); err == nil {
			return nil
		}
		select {
		case <-hctx.Done():
			return fmt.Errorf("opencode at %s never became healthy: %v", s.URL, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// passEnv lists the variables of fixloop's own environment OpenCode inherits: what a process needs to
// run and reach its model through a proxy. Everything else (GitHub and cloud tokens, fixloop's own
// settings and keys) stays out: the coding agent's shell must not be able to print a credential.
var passEnv = map[string]bool{"PATH": true, "LANG": true, "TZ": true, "TMPDIR": true, "TERM": true, "USER": true,
	"LOGNAME": true, "SHELL": true, "HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true, "http_proxy": true,
	"https_proxy": true, "no_proxy": true, "SSL_CERT_FILE": true, "SSL_CERT_DIR": true, "NODE_EXTRA_CA_CERTS": true}

// filteredEnv is the part of os.Environ() in passEnv (and LC_* locale settings).
func filteredEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if passEnv[k] || strings.HasPrefix(k, "LC_") {
			out = append(out, kv)
		}
	}
	return out
}

// gitHardening keeps git hooks from running in the agent's commits (a hook written by a steered agent
// would run outside the permission rules).
var gitHardening = []string{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=core.hooksPath", "GIT_CONFIG_VALUE_0=/dev/null",
	"GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1"}

// PID returns the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Done is closed when the process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

// Output returns the last lines the server printed.
func (s *Server) Output() string { return s.tail.String() }

// RSS returns the resident memory of the server process group in bytes (Linux /proc).
func (s *Server) RSS() (int64, error) {
	pgid := s.cmd.Process.Pid
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	var total int64
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if g, err := syscall.Getpgid(pid); err != nil || g != pgid {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			if f := strings.Fields(string(line)); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				total += kb * 1024
			}
		}
	}
	if total == 0 {
		return 0, errors.New("no RSS found for the opencode process group")
	}
	return total, nil
}

// Stop terminates the process group (SIGTERM, then SIGKILL after 5 s) and removes private state it created.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			pgid := s.cmd.Process.Pid
			_ = syscall.Kill(-pgid, syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(5 * time.Second):
				_ = syscall.Kill(-pgid, syscall.SIGKILL)
				<-s.done
			}
			// Children that ignored SIGTERM (tool shells) go too.
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
		s.cleanup()
	})
}

func (s *Server) cleanup() {
	if s.ownState && s.StateDir != "" {
		_ = os.RemoveAll(s.StateDir)
	}
}

// tailBuffer keeps the last max bytes of output lines.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) WriteLine(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, line...)
	t.buf = append(t.buf, '\n')
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
