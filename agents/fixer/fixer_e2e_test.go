package fixer

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2aclient"
	"github.com/a2aproject/a2a-go/v2/a2aclient/agentcard"

	"github.com/fixloop/fixloop/agents"
	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/github/ghsink"
	"github.com/fixloop/fixloop/internal/github/ghsink/ghsinktest"
	"github.com/fixloop/fixloop/internal/opencode"
	"github.com/fixloop/fixloop/internal/opencode/opencodetest"
	"github.com/fixloop/fixloop/internal/opencode/scriptedllm"
	"github.com/fixloop/fixloop/internal/redact"
	"github.com/fixloop/fixloop/internal/store"
	"github.com/fixloop/fixloop/internal/testenv"
)

func TestMain(m *testing.M) {
	if os.Getenv("FIXLOOP_FIXER_HELPER") == "1" {
		runHelperServer()
		return
	}
	opencodetest.Main(m)
}

const (
	ghRepo   = "o/r"
	buggyGo  = "package tiny\n\n// Last returns the last element of xs.\nfunc Last(xs []int) int {\n\treturn xs[len(xs)]\n}\n"
	fixedGo  = "xs[len(xs)-1]"
	tinyPath = "tiny/tiny.go"
)

// fixture is everything around the fixer: a bare git remote, the local GitHub API (ghsink) that knows
// it, issue #1, the shared real OpenCode server with its scripted LLM, and a state/work directory.
type fixture struct {
	env      *opencodetest.Env
	sink     *ghsink.Server
	sinkURL  string // API root with trailing slash; also the git host (smart HTTP at /o/r.git)
	bare     string
	stateDir string
	workDir  string
	gh       *github.GitHub
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	fx := &fixture{env: opencodetest.Shared(t), stateDir: t.TempDir(), workDir: t.TempDir()}
	src := opencodetest.GitRepo(t, map[string]string{tinyPath: buggyGo, "go.mod": "module example.com/tiny\n\ngo 1.22\n"})
	fx.bare = filepath.Join(t.TempDir(), "o", "r.git")
	opencodetest.Git(t, src, "clone", "-q", "--bare", src, fx.bare)
	sink, ts := ghsinktest.Start(t, ghsink.Options{GitRepos: map[string]string{ghRepo: fx.bare}})
	fx.sink, fx.sinkURL = sink, ts.URL+"/"
	var err error
	fx.gh, err = github.New(github.Config{BaseURL: fx.sinkURL, Redactor: redact.Default(), RetryBase: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// Issue #1, as the triage agent would have filed it.
	resp, err := http.Post(ts.URL+"/repos/o/r/issues", "application/json", strings.NewReader(`{"title":"panic: index out of range in tiny.Last","body":"seen in canary"}`))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create issue: %v %v", resp, err)
	}
	resp.Body.Close()
	return fx
}

func (fx *fixture) cloneDir(fp string) string {
	return filepath.Join(fx.workDir, repoSlug(ghRepo)+"-"+short(fp))
}

// successScript is what a good model does: read, edit with OpenCode's edit tool, then commit with bash;
// fixloop pushes and opens the PR. gate (optional) holds the edit step.
func (fx *fixture) successScript(name, fp string, gate <-chan struct{}) scriptedllm.Script {
	dir := fx.cloneDir(fp)
	file := filepath.Join(dir, tinyPath)
	return scriptedllm.Script{Name: name, Steps: []scriptedllm.Step{
		{Text: "Reading the failing function.", ToolCalls: []scriptedllm.ToolCall{{Name: "read", Args: map[string]any{"filePath": file}}}},
		{Gate: gate, ToolCalls: []scriptedllm.ToolCall{{Name: "edit", Args: map[string]any{"filePath": file, "oldString": "xs[len(xs)]", "newString": fixedGo}}}},
		{ToolCalls: []scriptedllm.ToolCall{{Name: "bash", Args: map[string]any{
			"description": "commit the fix",
			"command":     "git commit -qam 'fix: Last indexed one past the end'",
		}}}},
		{Text: "Fixed tiny.Last: it indexed xs[len(xs)], one past the end; it now returns xs[len(xs)-1]. Pull request opened."},
	}}
}

func (fx *fixture) request(fp, script string) Request {
	return Request{Repo: ghRepo, BaseBranch: "main", Issue: 1, Fingerprint: fp,
		Plan: "# Fix plan: index out of range in tiny.Last\n[script:" + script + "]\nThe canary panics with `index out of range [3] with length 3` in tiny.Last."}
}

func (fx *fixture) newFixer(t testing.TB, mod func(*Config)) (*Fixer, store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), fx.stateDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := Config{OpenCode: fx.env.Client, Store: st, GitHub: fx.gh, WorkDir: fx.workDir, Timeout: 2 * time.Minute,
		CloneBase: CloneBaseFor(fx.sinkURL), Repos: []string{"o/*"}}
	if mod != nil {
		mod(&cfg)
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f, st
}

// sessionsIn lists the OpenCode sessions whose directory is dir (straight from the server).
func (fx *fixture) sessionsIn(t *testing.T, dir string) []string {
	t.Helper()
	resp, err := http.Get(fx.env.Server.URL + "/session?directory=" + dir)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []struct {
		ID        string `json:"id"`
		Directory string `json:"directory"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range list {
		if s.Directory == dir {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

func a2aClient(t *testing.T, base string) *a2aclient.Client {
	t.Helper()
	ctx := context.Background()
	card, err := agentcard.DefaultResolver.Resolve(ctx, base+"/agents/fixer")
	if err != nil {
		t.Fatal(err)
	}
	c, err := a2aclient.NewFromCard(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fixMessage(t *testing.T, req Request) *a2a.SendMessageRequest {
	t.Helper()
	raw, _ := json.Marshal(req)
	var data map[string]any
	_ = json.Unmarshal(raw, &data)
	msg := a2a.NewMessage(a2a.MessageRoleUser, a2a.NewDataPart(data))
	return &a2a.SendMessageRequest{Message: msg}
}

// streamFix sends fix_issue over A2A streaming and returns the progress texts and the result artifact.
func streamFix(t *testing.T, c *a2aclient.Client, req Request) ([]string, *Result, a2a.TaskState, error) {
	t.Helper()
	return streamFixWatching(t, c, req, nil)
}

// streamFixWatching is streamFix calling seen (when non-nil) with each progress line as it arrives.
func streamFixWatching(t *testing.T, c *a2aclient.Client, req Request, seen func(string)) ([]string, *Result, a2a.TaskState, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var progress []string
	var res *Result
	var state a2a.TaskState
	for ev, err := range c.SendStreamingMessage(ctx, fixMessage(t, req)) {
		if err != nil {
			return progress, res, state, err
		}
		switch e := ev.(type) {
		case *a2a.TaskStatusUpdateEvent:
			state = e.Status.State
			if e.Status.Message != nil {
				for _, p := range e.Status.Message.Parts {
					progress = append(progress, p.Text())
					if seen != nil {
						seen(p.Text())
					}
				}
			}
		case *a2a.TaskArtifactUpdateEvent:
			for _, p := range e.Artifact.Parts {
				if d, ok := p.Data().(map[string]any); ok {
					raw, _ := json.Marshal(d)
					res = &Result{}
					_ = json.Unmarshal(raw, res)
				}
			}
		case *a2a.Task:
			state = e.Status.State
		}
	}
	return progress, res, state, nil
}

func startHost(t *testing.T, f *Fixer, st store.Store) string {
	t.Helper()
	h, err := agents.NewHost(agents.Config{Store: st, RootAgent: "fixer"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Mount(h); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts.URL
}

func containsAny(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// The whole loop over A2A with a real OpenCode: the edit tool fixes the file, bash commits, fixloop pushes
// over git's smart HTTP and opens the PR on the local GitHub API, verifies it, comments on the issue, and
// a repeat returns it.
func TestFixOverA2AOpensOneVerifiedPR(t *testing.T) {
	fx := newFixture(t)
	const fp = "fp-e2e-index-range"
	fx.env.LLM.SetScript(fx.successScript("e2e", fp, nil))
	f, st := fx.newFixer(t, nil)
	base := startHost(t, f, st)
	c := a2aClient(t, base)

	t0 := time.Now()
	progress, res, state, err := streamFix(t, c, fx.request(fp, "e2e"))
	if err != nil {
		t.Fatalf("stream: %v (progress %q)", err, progress)
	}
	t.Logf("e2e fix took %s", time.Since(t0).Round(time.Millisecond))
	if state != a2a.TaskStateCompleted || res == nil || res.Status != StatusPROpen {
		t.Fatalf("state %s result %+v\nprogress:\n%s", state, res, strings.Join(progress, "\n"))
	}
	pulls := fx.sink.Pulls(ghRepo)
	if len(pulls) != 1 {
		t.Fatalf("pulls = %+v", pulls)
	}
	if res.PRURL != pulls[0].HTMLURL || res.PRNumber != pulls[0].Number || res.Branch != BranchFor(fp) || pulls[0].Head.Ref != res.Branch {
		t.Errorf("result %+v does not match the PR %+v", res, pulls[0])
	}
	if len(res.FilesChanged) != 1 || res.FilesChanged[0] != tinyPath {
		t.Errorf("filesChanged = %v, want [%s]", res.FilesChanged, tinyPath)
	}
	if !strings.Contains(res.Summary, "one past the end") {
		t.Errorf("summary = %q", res.Summary)
	}
	// The stream showed the work as it happened.
	for _, want := range []string{"cloned", "created OpenCode session", "tool read", "tool edit", "edited " + tinyPath, "tool bash", "verified pull request"} {
		if !containsAny(progress, want) {
			t.Errorf("progress lacks %q:\n%s", want, strings.Join(progress, "\n"))
		}
	}
	// The fix really landed on the remote branch through OpenCode's edit tool.
	show, err := exec.Command("git", "--git-dir", fx.bare, "show", res.Branch+":"+tinyPath).CombinedOutput()
	if err != nil || !strings.Contains(string(show), fixedGo) {
		t.Errorf("remote branch content: %s %v", show, err)
	}
	// The issue links the PR.
	comments := fx.sink.Comments(ghRepo, 1)
	if len(comments) != 1 || !strings.Contains(comments[0].Body, res.PRURL) {
		t.Errorf("issue comments = %+v", comments)
	}
	// Every step is persisted under the fingerprint.
	rec, err := st.GetFixerSession(context.Background(), fp)
	if err != nil || rec.SessionID != res.SessionID || rec.PRURL != res.PRURL || rec.Status != StatusPROpen {
		t.Fatalf("store record %+v %v", rec, err)
	}
	var names []string
	for _, s := range rec.Steps {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "session,prompt,wait,push,pull-request,issue-comment" {
		t.Errorf("steps = %s", got)
	}

	// The same request again: the existing PR, no new session, PR or comment.
	progress2, res2, state2, err := streamFix(t, c, fx.request(fp, "e2e"))
	if err != nil || state2 != a2a.TaskStateCompleted || res2 == nil {
		t.Fatalf("repeat: %v %s %+v", err, state2, res2)
	}
	if res2.PRURL != res.PRURL || res2.SessionID != res.SessionID || !res2.Reused {
		t.Errorf("repeat result %+v, want the first PR reused", res2)
	}
	if !containsAny(progress2, "already exists") {
		t.Errorf("repeat progress: %q", progress2)
	}
	if n := len(fx.sink.Pulls(ghRepo)); n != 1 {
		t.Errorf("pulls after repeat = %d", n)
	}
	if ids := fx.sessionsIn(t, fx.cloneDir(fp)); len(ids) != 1 {
		t.Errorf("sessions = %v, want exactly one", ids)
	}
	if n := len(fx.sink.Comments(ghRepo, 1)); n != 1 {
		t.Errorf("issue comments after repeat = %d", n)
	}
	if n := len(fx.env.LLM.RequestsFor("e2e")); n != 4 {
		t.Errorf("LLM agent requests = %d, want 4 (one per scripted step, none for the repeat)", n)
	}
}

// Two identical requests at once share one run: one session, one PR.
func TestConcurrentDuplicateRequestsShareOneRun(t *testing.T) {
	fx := newFixture(t)
	const fp = "fp-dup-concurrent"
	gate := make(chan struct{})
	fx.env.LLM.SetScript(fx.successScript("dup", fp, gate))
	f, _ := fx.newFixer(t, nil)
	sub := fx.env.LLM.Subscribe()
	var wg sync.WaitGroup
	results := make([]*Result, 2)
	errs := make([]error, 2)
	var joined []string
	var mu sync.Mutex
	second := make(chan struct{}) // the second caller joined the first's run
	var once sync.Once
	for i := range 2 {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i], errs[i] = f.Fix(context.Background(), fx.request(fp, "dup"), func(s string) {
				mu.Lock()
				joined = append(joined, s)
				mu.Unlock()
				if strings.Contains(s, "already running") {
					once.Do(func() { close(second) })
				}
			})
		}(i)
		if i == 0 {
			waitForStep(t, sub, "dup", 1)
		}
	}
	select { // without this the first run could finish before the second caller arrives
	case <-second:
	case <-time.After(time.Minute):
		t.Fatal("the second caller never joined the running fix")
	}
	close(gate)
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil || results[i].Status != StatusPROpen {
			t.Fatalf("run %d: %+v %v", i, results[i], errs[i])
		}
	}
	if results[0].PRURL != results[1].PRURL {
		t.Errorf("different PRs: %s %s", results[0].PRURL, results[1].PRURL)
	}
	if !containsAny(joined, "already running") {
		t.Errorf("second caller did not join: %q", joined)
	}
	if n := len(fx.sink.Pulls(ghRepo)); n != 1 {
		t.Errorf("pulls = %d", n)
	}
	if ids := fx.sessionsIn(t, fx.cloneDir(fp)); len(ids) != 1 {
		t.Errorf("sessions = %v", ids)
	}
}

func waitForStep(t *testing.T, sub <-chan scriptedllm.Request, script string, step int) {
	t.Helper()
	timeout := time.After(90 * time.Second)
	for {
		select {
		case r := <-sub:
			if r.Script == script && r.Step == step && !r.Title {
				return
			}
		case <-timeout:
			t.Fatalf("the scripted LLM never got step %d of %s", step, script)
		}
	}
}

// LLM failure modes end in a clear failed result, the session aborted where OpenCode would retry forever.
func TestLLMFailuresEndInClearErrors(t *testing.T) {
	fx := newFixture(t)
	fx.env.LLM.SetScript(scriptedllm.Script{Name: "x5xx", Failure: scriptedllm.FailServerError})
	fx.env.LLM.SetScript(scriptedllm.Script{Name: "xbad", Failure: scriptedllm.FailMalformed})
	fx.env.LLM.SetScript(scriptedllm.Script{Name: "x401", Failure: scriptedllm.FailUnauthorized})
	cases := []struct {
		script, fp string
		mod        func(*Config)
		want       []string
	}{
		{"x5xx", "fp-llm-5xx", func(c *Config) { c.Timeout = 8 * time.Second; c.RetryLimit = 100 },
			[]string{"did not finish within 8s", "5xx forever", "session aborted"}},
		{"xbad", "fp-llm-malformed", func(c *Config) { c.RetryLimit = 2 },
			[]string{"failed 2 times in a row", "JSON", "session aborted"}},
		{"x401", "fp-llm-401", nil,
			[]string{"401", "check the API key"}},
	}
	for _, tc := range cases {
		t.Run(tc.script, func(t *testing.T) {
			if tc.script == "x5xx" {
				fx.warmClone(t, tc.fp)
			}
			f, st := fx.newFixer(t, tc.mod)
			var progress []string
			var mu sync.Mutex
			res, err := f.Fix(context.Background(), fx.request(tc.fp, tc.script), func(s string) {
				mu.Lock()
				progress = append(progress, s)
				mu.Unlock()
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != StatusFailed {
				t.Fatalf("status %s, want failed: %+v", res.Status, res)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.Error, w) {
					t.Errorf("error %q lacks %q", res.Error, w)
				}
			}
			// No session is left running.
			stat, err := fx.env.Client.Status(context.Background(), fx.cloneDir(tc.fp))
			if err != nil {
				t.Fatal(err)
			}
			if s, busy := stat[res.SessionID]; busy && s.Type != "idle" {
				waitIdle(t, fx.env.Client, fx.cloneDir(tc.fp), res.SessionID)
			}
			rec, _ := st.GetFixerSession(context.Background(), tc.fp)
			if rec == nil || rec.Status != StatusFailed || rec.SessionID != res.SessionID {
				t.Errorf("record %+v", rec)
			}
			if tc.script != "x401" && !containsAny(progress, "aborted OpenCode session") {
				t.Errorf("progress lacks the abort: %q", progress)
			}
			if len(fx.sink.Pulls(ghRepo)) != 0 {
				t.Error("a PR appeared from a failed run")
			}
		})
	}
}

// warmClone makes the clone the fixer will reuse for fp and runs one finished OpenCode turn in it. OpenCode
// sets a directory up (plugins, snapshot repository, file watcher) lazily on its first turn there, which
// takes 15-20 s on a loaded machine; a short turn timeout must measure the retrying model call, not that.
func (fx *fixture) warmClone(t *testing.T, fp string) {
	t.Helper()
	dir := fx.cloneDir(fp)
	opencodetest.Git(t, fx.workDir, "clone", "-q", "--branch", "main", fx.bare, dir)
	opencodetest.Git(t, dir, "remote", "set-url", "origin", fx.sinkURL+ghRepo+".git")
	opencodetest.Git(t, dir, "checkout", "-q", "-b", BranchFor(fp))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := fx.env.Client
	s, err := c.CreateSession(ctx, dir, "warm-up")
	if err != nil {
		t.Fatal(err)
	}
	w, err := opencode.Watch(ctx, c, dir, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := c.PromptAsync(ctx, dir, s.ID, opencode.Prompt{Text: "[script:warm-up] say done"}); err != nil {
		t.Fatal(err)
	}
	if res, err := w.Wait(ctx, opencode.WaitOptions{}); err != nil || res.Reason != opencode.WaitIdle || len(res.Errors) > 0 {
		t.Fatalf("warm-up turn: %+v %v", res, err)
	}
}

func waitIdle(t *testing.T, c opencode.API, dir, id string) {
	t.Helper()
	err := testenv.Poll(context.Background(), 100*time.Millisecond, 10*time.Second, func() (bool, string) {
		st, err := c.Status(context.Background(), dir)
		if err != nil {
			return false, err.Error()
		}
		s, ok := st[id]
		return !ok || s.Type == "idle", "status " + s.Type
	})
	if err != nil {
		t.Errorf("session %s still busy after abort: %v", id, err)
	}
}

// A model that edits but never commits: no_pr (fixloop pushes commits only), with the session's last words.
func TestNoPRIsReportedNotTrusted(t *testing.T) {
	fx := newFixture(t)
	const fp = "fp-no-pr"
	file := filepath.Join(fx.cloneDir(fp), tinyPath)
	fx.env.LLM.SetScript(scriptedllm.Script{Name: "liar", Steps: []scriptedllm.Step{
		{ToolCalls: []scriptedllm.ToolCall{{Name: "read", Args: map[string]any{"filePath": file}}}},
		{ToolCalls: []scriptedllm.ToolCall{{Name: "edit", Args: map[string]any{"filePath": file, "oldString": "xs[len(xs)]", "newString": fixedGo}}}},
		{Text: "Done! I opened PR #7 with the fix."},
	}})
	f, _ := fx.newFixer(t, nil)
	res, err := f.Fix(context.Background(), fx.request(fp, "liar"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusNoPR || !strings.Contains(res.Error, "made no commit") {
		t.Fatalf("result %+v", res)
	}
	if len(res.LastMessages) == 0 || !strings.Contains(res.LastMessages[len(res.LastMessages)-1], "opened PR #7") {
		t.Errorf("last messages %q", res.LastMessages)
	}
	if len(res.FilesChanged) != 1 {
		t.Errorf("filesChanged %v", res.FilesChanged)
	}
}

// --- restart: fixloop (host + fixer, a separate process) is killed mid-session ---

// runHelperServer is a minimal `fixloop serve` for the fixer: A2A host over the SQLite store, with
// interrupted tasks resumed at start. Configured by environment; prints its URL on stdout.
func runHelperServer() {
	ctx := context.Background()
	st, err := store.Open(ctx, os.Getenv("H_STATE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gh, err := github.New(github.Config{BaseURL: os.Getenv("H_GITHUB"), Redactor: redact.Default()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	oc, err := opencode.NewClient(os.Getenv("H_OPENCODE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	f, err := New(Config{OpenCode: oc, Store: st, GitHub: gh, WorkDir: os.Getenv("H_WORK"), Timeout: 3 * time.Minute,
		CloneBase: CloneBaseFor(os.Getenv("H_GITHUB")), Repos: []string{"o/*"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	h, err := agents.NewHost(agents.Config{Store: st, RootAgent: "fixer"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := f.Mount(h); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	ts := httptest.NewServer(mux)
	if err := h.Resume(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	go h.KeepResuming(ctx) // as serve does: a task the killed helper still held is resumed once its lease ends
	fmt.Println("URL " + ts.URL)
	select {}
}

type helper struct {
	cmd *exec.Cmd
	url string
}

func (fx *fixture) startHelper(t *testing.T) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FIXLOOP_FIXER_HELPER=1", "H_STATE="+fx.stateDir, "H_GITHUB="+fx.sinkURL,
		"H_OPENCODE="+fx.env.Server.URL, "H_WORK="+fx.workDir)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{cmd: cmd}
	t.Cleanup(func() { h.kill() })
	sc := bufio.NewScanner(out)
	urlc := make(chan string, 1)
	go func() {
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "URL "); ok {
				urlc <- u
			}
		}
	}()
	select {
	case h.url = <-urlc:
	case <-time.After(30 * time.Second):
		t.Fatal("fixer helper process did not start")
	}
	return h
}

func (h *helper) kill() {
	if h.cmd.Process != nil && h.cmd.ProcessState == nil {
		_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
		_ = h.cmd.Wait()
	}
}

func TestFixloopKilledMidSessionResumesWithoutSecondSessionOrPR(t *testing.T) {
	fx := newFixture(t)
	const fp = "fp-killed-midway"
	gate := make(chan struct{})
	fx.env.LLM.SetScript(fx.successScript("kill", fp, gate))
	sub := fx.env.LLM.Subscribe()

	first := fx.startHelper(t)
	c1 := a2aClient(t, first.url)
	streamErr := make(chan error, 1)
	go func() {
		_, _, _, err := streamFix(t, c1, fx.request(fp, "kill"))
		streamErr <- err
	}()
	waitForStep(t, sub, "kill", 1) // the session is mid-turn, its edit step held by the gate
	first.kill()
	<-streamErr

	second := fx.startHelper(t) // resumes the interrupted task from the store
	c2 := a2aClient(t, second.url)
	done := make(chan struct{})
	var progress []string
	var res *Result
	var err error
	following := make(chan struct{})
	var once sync.Once
	go func() {
		defer close(done)
		// The client retries; once its stream shows the run followed (resumed or joined), the held
		// edit step may answer.
		progress, res, _, err = streamFixWatching(t, c2, fx.request(fp, "kill"), func(s string) {
			if strings.Contains(s, "resuming OpenCode session") || strings.Contains(s, "already running") {
				once.Do(func() { close(following) })
			}
		})
	}()
	select {
	case <-following:
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the retried request never reported following the interrupted session")
	}
	close(gate)
	<-done
	if err != nil || res == nil || res.Status != StatusPROpen {
		t.Fatalf("after restart: %+v %v\n%s", res, err, strings.Join(progress, "\n"))
	}
	if !containsAny(progress, "resuming OpenCode session") && !containsAny(progress, "already running") {
		t.Errorf("progress does not show a resume: %q", progress)
	}
	if n := len(fx.sink.Pulls(ghRepo)); n != 1 {
		t.Errorf("pulls = %d, want 1", n)
	}
	if ids := fx.sessionsIn(t, fx.cloneDir(fp)); len(ids) != 1 || ids[0] != res.SessionID {
		t.Errorf("sessions = %v, want only %s", ids, res.SessionID)
	}
	if n := len(fx.env.LLM.RequestsFor("kill")); n != 4 {
		t.Errorf("LLM requests = %d, want 4 (the turn was never re-prompted)", n)
	}
	if n := len(fx.sink.Comments(ghRepo, 1)); n != 1 {
		t.Errorf("issue comments = %d, want 1", n)
	}
}

// BenchmarkFixEndToEnd reports one full fix (clone, session, 4 scripted LLM steps with real OpenCode
// tools, push, PR, verification) on a warm OpenCode server.
func BenchmarkFixEndToEnd(b *testing.B) {
	for i := 0; i < b.N; i++ {
		fx := newFixture(b)
		fp := fmt.Sprintf("fp-bench-%d-%d", time.Now().UnixNano(), i)
		fx.env.LLM.SetScript(fx.successScript("bench", fp, nil))
		f, _ := fx.newFixer(b, nil)
		t0 := time.Now()
		res, err := f.Fix(context.Background(), fx.request(fp, "bench"), nil)
		if err != nil || res.Status != StatusPROpen {
			b.Fatalf("%+v %v", res, err)
		}
		b.ReportMetric(float64(time.Since(t0).Milliseconds()), "fix-ms")
	}
	b.ReportMetric(float64(fxStartMillis()), "opencode-start-ms")
}

func fxStartMillis() int64 {
	return opencodetest.SharedStartTime().Milliseconds()
}

// The triage agent delegates without waiting (ReturnImmediately) and polls the task: the fix must run
// to its end after the SendMessage call returned, and GetTask must show the result.
func TestNonBlockingDelegationCompletesInBackground(t *testing.T) {
	fx := newFixture(t)
	const fp = "fp-nonblocking"
	fx.env.LLM.SetScript(fx.successScript("nb", fp, nil))
	f, st := fx.newFixer(t, nil)
	c := a2aClient(t, startHost(t, f, st))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The triage agent's field names: repo, issueNumber, plan.
	data := map[string]any{"repo": ghRepo, "baseBranch": "main", "issueNumber": 1, "fingerprint": fp,
		"plan": "# Fix plan\n[script:nb]\nindex out of range in tiny.Last"}
	req := &a2a.SendMessageRequest{Message: a2a.NewMessage(a2a.MessageRoleUser, a2a.NewDataPart(data)), Config: &a2a.SendMessageConfig{ReturnImmediately: true}}
	out, err := c.SendMessage(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	task, ok := out.(*a2a.Task)
	if !ok {
		t.Fatalf("want a task back, got %T", out)
	}
	testenv.WaitFor(t, "the fix task to end", 500*time.Millisecond, 3*time.Minute, func() (bool, string) {
		if task.Status.State == a2a.TaskStateCompleted || task.Status.State == a2a.TaskStateFailed {
			return true, ""
		}
		if task, err = c.GetTask(ctx, &a2a.GetTaskRequest{ID: task.ID}); err != nil {
			t.Fatal(err)
		}
		return false, "state " + string(task.Status.State)
	})
	if task.Status.State != a2a.TaskStateCompleted || len(task.Artifacts) == 0 {
		t.Fatalf("task %s: %+v", task.Status.State, task.Status.Message)
	}
	pulls := fx.sink.Pulls(ghRepo)
	if len(pulls) != 1 {
		t.Fatalf("pulls %+v", pulls)
	}
	raw, _ := json.Marshal(task.Artifacts[0].Parts[0].Data())
	var res Result
	_ = json.Unmarshal(raw, &res)
	if res.PRURL != pulls[0].HTMLURL {
		t.Errorf("artifact %+v, PR %s", res, pulls[0].HTMLURL)
	}
}
