package opencode_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fixloop/fixloop/internal/opencode"
	"github.com/fixloop/fixloop/internal/opencode/opencodetest"
	"github.com/fixloop/fixloop/internal/opencode/scriptedllm"
)

func TestMain(m *testing.M) { opencodetest.Main(m) }

const buggy = "package tiny\n\n// Last returns the last element.\nfunc Last(xs []int) int { return xs[len(xs)] }\n"

// A real OpenCode session: the scripted model reads, edits through OpenCode's edit tool and commits with
// bash; the client sees the tool parts, the file.edited event and the idle event, and the file changed.
func TestSessionEditsAndCommitsThroughOpenCodeTools(t *testing.T) {
	env := opencodetest.Shared(t)
	repo := opencodetest.GitRepo(t, map[string]string{"tiny.go": buggy})
	file := filepath.Join(repo, "tiny.go")
	env.LLM.SetScript(scriptedllm.Script{Name: "edit", Steps: []scriptedllm.Step{
		{Text: "Looking at the file.", ToolCalls: []scriptedllm.ToolCall{{Name: "read", Args: map[string]any{"filePath": file}}}},
		{ToolCalls: []scriptedllm.ToolCall{{Name: "edit", Args: map[string]any{"filePath": file, "oldString": "xs[len(xs)]", "newString": "xs[len(xs)-1]"}}}},
		{ToolCalls: []scriptedllm.ToolCall{{Name: "bash", Args: map[string]any{"command": "git checkout -q -b fix-last && git commit -qam 'fix: off-by-one in Last' && git log --oneline -1", "description": "commit the fix"}}}},
		{Text: "Fixed the off-by-one in Last."},
	}})
	c := env.Client
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	sess, err := c.CreateSession(ctx, repo, "fix tiny")
	if err != nil {
		t.Fatal(err)
	}
	if sess.Directory != repo {
		t.Errorf("session directory = %q, want %q", sess.Directory, repo)
	}
	w, err := opencode.Watch(ctx, c, repo, sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := c.PromptAsync(ctx, repo, sess.ID, opencode.Prompt{Text: "[script:edit] fix the panic in tiny.go"}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var types []string
	tools := map[string]string{}
	res, err := w.Wait(ctx, opencode.WaitOptions{OnEvent: func(ev opencode.Event) {
		mu.Lock()
		defer mu.Unlock()
		types = append(types, ev.Type)
		if p, ok := ev.Part(); ok && p.Type == "tool" {
			tools[p.Tool] = p.Status
		}
	}})
	if err != nil {
		t.Fatalf("wait: %v (events %v)", err, types)
	}
	if res.Reason != opencode.WaitIdle || len(res.Errors) > 0 {
		t.Fatalf("wait result %+v", res)
	}
	for _, tool := range []string{"read", "edit", "bash"} {
		if tools[tool] != "completed" {
			t.Errorf("tool %s final status %q, want completed (tools %v)", tool, tools[tool], tools)
		}
	}
	b, _ := os.ReadFile(file)
	if !strings.Contains(string(b), "xs[len(xs)-1]") {
		t.Errorf("file not edited by OpenCode's edit tool:\n%s", b)
	}
	if log := opencodetest.Git(t, repo, "log", "--oneline", "-1", "fix-last"); !strings.Contains(log, "off-by-one") {
		t.Errorf("commit missing on fix-last: %s", log)
	}
	msgs, err := c.Messages(ctx, repo, sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := msgs[len(msgs)-1]
	if last.Role != "assistant" || last.Text() != "Fixed the off-by-one in Last." {
		t.Errorf("last message = %s %q", last.Role, last.Text())
	}
	var patched []string
	for _, m := range msgs {
		for _, p := range m.Parts {
			patched = append(patched, p.Files...)
		}
	}
	if len(patched) == 0 || patched[0] != file {
		t.Errorf("patch parts files = %v, want [%s]", patched, file)
	}
	if st, err := c.Status(ctx, repo); err != nil || st[sess.ID].Type == "busy" {
		t.Errorf("status after idle: %v %v", st, err)
	}
	got, err := c.GetSession(ctx, repo, sess.ID)
	if err != nil || got.ID != sess.ID {
		t.Errorf("get session: %+v %v", got, err)
	}
	if _, err := c.GetSession(ctx, repo, "ses_doesnotexist"); !errors.Is(err, opencode.ErrNotFound) {
		t.Errorf("missing session error = %v, want ErrNotFound", err)
	}
}

// The failures an LLM endpoint can produce, as OpenCode surfaces them.
func TestLLMFailureModes(t *testing.T) {
	env := opencodetest.Shared(t)
	c := env.Client
	env.LLM.SetScript(scriptedllm.Script{Name: "f401", Failure: scriptedllm.FailUnauthorized})
	env.LLM.SetScript(scriptedllm.Script{Name: "f5xx", Failure: scriptedllm.FailServerError})
	env.LLM.SetScript(scriptedllm.Script{Name: "fbad", Failure: scriptedllm.FailMalformed})
	repo := opencodetest.GitRepo(t, map[string]string{"tiny.go": buggy})

	start := func(t *testing.T, script string) (opencode.Session, *opencode.Watcher) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := c.CreateSession(ctx, repo, script)
		if err != nil {
			t.Fatal(err)
		}
		w, err := opencode.Watch(context.Background(), c, repo, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Close)
		if err := c.PromptAsync(ctx, repo, s.ID, opencode.Prompt{Text: "[script:" + script + "] fix it"}); err != nil {
			t.Fatal(err)
		}
		return s, w
	}
	abortAndWaitIdle := func(t *testing.T, s opencode.Session) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		w, err := opencode.Watch(ctx, c, repo, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if err := c.Abort(ctx, repo, s.ID); err != nil {
			t.Fatal(err)
		}
		if res, err := w.Wait(ctx, opencode.WaitOptions{Resume: true}); err != nil || res.Reason != opencode.WaitIdle {
			t.Fatalf("after abort: %+v %v", res, err)
		}
	}

	t.Run("401 fails at once", func(t *testing.T) {
		_, w := start(t, "f401")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		res, err := w.Wait(ctx, opencode.WaitOptions{RetryLimit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if res.Reason != opencode.WaitIdle || len(res.Errors) == 0 || !strings.Contains(res.Errors[0], "401") {
			t.Fatalf("want idle with a 401 error, got %+v", res)
		}
	})
	t.Run("malformed stream is retried until the retry limit", func(t *testing.T) {
		s, w := start(t, "fbad")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		res, err := w.Wait(ctx, opencode.WaitOptions{RetryLimit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if res.Reason != opencode.WaitRetryLimit || res.LastRetry.Attempt < 2 || !strings.Contains(res.LastRetry.Message, "JSON") {
			t.Fatalf("want retry_limit with a JSON parse message, got %+v", res)
		}
		abortAndWaitIdle(t, s)
	})
	t.Run("5xx forever needs the caller's timeout", func(t *testing.T) {
		s, w := start(t, "f5xx")
		ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
		defer cancel()
		res, err := w.Wait(ctx, opencode.WaitOptions{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want deadline exceeded, got %+v %v", res, err)
		}
		if res.LastRetry.Type != "retry" || !strings.Contains(res.LastRetry.Message, "5xx forever") {
			t.Fatalf("want a retry status naming the upstream failure, got %+v", res)
		}
		st, err := c.Status(context.Background(), repo)
		if err != nil || st[s.ID].Type == "" {
			t.Fatalf("session should still be retrying: %v %v", st, err)
		}
		abortAndWaitIdle(t, s)
		if n := len(env.LLM.RequestsFor("f5xx")); n < 2 {
			t.Errorf("OpenCode retried %d times, want >= 2", n)
		}
	})
}

// Resume: a watcher opened after the session finished returns at once from the status check.
func TestWaitResumeOnIdleSession(t *testing.T) {
	env := opencodetest.Shared(t)
	repo := opencodetest.GitRepo(t, map[string]string{"a.txt": "a\n"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := env.Client.CreateSession(ctx, repo, "idle")
	if err != nil {
		t.Fatal(err)
	}
	w, err := opencode.Watch(ctx, env.Client, repo, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	res, err := w.Wait(ctx, opencode.WaitOptions{Resume: true})
	if err != nil || res.Reason != opencode.WaitIdle {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestClientErrorsNameTheServer(t *testing.T) {
	c, err := opencode.NewClient("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	c.Timeout = 2 * time.Second
	_, err = c.Health(context.Background())
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") || !strings.Contains(err.Error(), "opencode serve") {
		t.Fatalf("error should name the server and what to run: %v", err)
	}
	if _, err := opencode.NewClient("not a url"); err == nil {
		t.Fatal("want an error for a relative URL")
	}
}

// The config works offline and allows the tools a fix needs (the narrow rules: hardening_test.go).
func TestConfigIsOfflineAndAllowsTools(t *testing.T) {
	cfg := string(opencode.Config(opencode.ProviderConfig{BaseURL: "http://127.0.0.1:9/v1"}))
	for _, want := range []string{`"autoupdate": false`, `"share": "disabled"`, `"@ai-sdk/openai-compatible"`, `"baseURL": "http://127.0.0.1:9/v1"`, `"edit": "allow"`, `"git commit *": "allow"`, `"model": "fixloop/fake-model"`} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %s:\n%s", want, cfg)
		}
	}
}

// BenchmarkServerStart reports how long `opencode serve` takes to become healthy and its RSS.
func BenchmarkServerStart(b *testing.B) {
	bin := opencodetest.Binary(b)
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		env, err := opencodetest.Start(bin, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(time.Since(t0).Milliseconds()), "start-ms")
		time.Sleep(2 * time.Second) // let background init settle before sampling memory
		if rss, err := env.Server.RSS(); err == nil {
			b.ReportMetric(float64(rss)/(1<<20), "rss-MB")
		}
		env.Stop()
	}
}
