package fixer

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/store"
)

// Every git command fixloop runs puts "--" before values that came from a request (URLs, refs, paths),
// so none of them is ever parsed as an option (e.g. repoUrl="--upload-pack=...").

var (
	branchNameRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$`)
	fingerprintRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$`)
)

// validBranch accepts plain branch names (git check-ref-format's rules that matter here).
func validBranch(b string) bool {
	return branchNameRE.MatchString(b) && !strings.Contains(b, "..") && !strings.Contains(b, "//") &&
		!strings.HasSuffix(b, ".lock") && !strings.HasSuffix(b, "/") && !strings.HasSuffix(b, ".")
}

func checkFingerprint(fp string) error {
	if strings.TrimSpace(fp) == "" {
		return errors.New("fingerprint is required (it keys the session and branch so a retry never opens a second PR)")
	}
	if !fingerprintRE.MatchString(fp) {
		return fmt.Errorf("fingerprint %q: want up to 200 letters, digits, '.', '_', ':' or '-'", fp)
	}
	return nil
}

// gitRun is one git invocation: in dir, with extra environment entries.
type gitRun struct {
	dir string
	env []string
}

// gitEnv is the environment of fixloop's own git commands: no prompts, no system or global config,
// no hooks, and only the transports listed.
func gitEnv(protocols string, extra ...string) []string {
	env := append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_ALLOW_PROTOCOL="+protocols, "GIT_ASKPASS=", "SSH_ASKPASS=")
	return append(env, extra...)
}

func (g gitRun) run(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false"}, args...)...)
	cmd.Dir = g.dir
	cmd.Env = g.env
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// remoteGit runs git against the configured host: its transport only, and the push token (when set)
// as an HTTP header scoped to that host, passed in the environment so it never shows in ps.
func (f *Fixer) remoteGit(dir string) gitRun {
	base := strings.TrimRight(f.cfg.CloneBase, "/")
	protocols := "https"
	if strings.HasPrefix(base, "http://") {
		protocols = "http"
	}
	var extra []string
	if f.cfg.PushToken != "" {
		cred := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + f.cfg.PushToken))
		extra = []string{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http." + base + "/.extraHeader",
			"GIT_CONFIG_VALUE_0=Authorization: Basic " + cred}
	}
	return gitRun{dir: dir, env: gitEnv(protocols, extra...)}
}

func (f *Fixer) ensureClone(ctx context.Context, req Request, dir, branch string, progress Progress) error {
	if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
		return nil
	}
	tmp := dir + ".tmp"
	_ = os.RemoveAll(tmp)
	if out, err := f.remoteGit("").run(ctx, "clone", "--quiet", "--no-recurse-submodules", "--branch", req.BaseBranch, "--", req.RepoURL, tmp); err != nil {
		return fmt.Errorf("git clone %s (branch %s) failed: %v: %s", req.RepoURL, req.BaseBranch, err, out)
	}
	// The clone must not keep a credential; it never had one (the header lives in the environment).
	local := gitRun{dir: tmp, env: gitEnv("https")}
	// The branch may exist remotely already (an earlier run pushed before dying): continue from it.
	if _, err := f.remoteGit(tmp).run(ctx, "fetch", "--quiet", "--no-tags", "--", "origin", "refs/heads/"+branch+":refs/heads/"+branch); err == nil {
		if out, err := local.run(ctx, "checkout", "--quiet", branch, "--"); err != nil {
			return fmt.Errorf("git checkout %s: %v: %s", branch, err, out)
		}
	} else if out, err := local.run(ctx, "checkout", "--quiet", "-b", branch, "--"); err != nil {
		return fmt.Errorf("git checkout -b %s: %v: %s", branch, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	progress(fmt.Sprintf("cloned %s (%s) on branch %s", req.RepoURL, req.BaseBranch, branch))
	return nil
}

// deliver pushes the agent's commits on branch and opens the pull request. It never runs git inside the
// agent's work tree, whose .git/config the agent could have rewritten (hooks, fsmonitor, insteadOf to
// send the token elsewhere): the commits are fetched into a private bare repository fixloop controls,
// and pushed from there. It returns a reason when there is nothing to deliver.
func (f *Fixer) deliver(ctx context.Context, req Request, rec *store.FixerSession, dir, branch, summary string) (string, error) {
	push := dir + ".push"
	if _, err := os.Stat(filepath.Join(push, "HEAD")); err != nil {
		if out, err := (gitRun{env: gitEnv("file")}).run(ctx, "init", "--quiet", "--bare", "--", push); err != nil {
			return "", fmt.Errorf("git init %s: %v: %s", push, err, out)
		}
	}
	remote := f.remoteGit(push)
	if out, err := remote.run(ctx, "fetch", "--quiet", "--no-tags", "--", req.RepoURL, "+refs/heads/"+req.BaseBranch+":refs/fixloop/base"); err != nil {
		return "", fmt.Errorf("git fetch %s %s: %v: %s", req.RepoURL, req.BaseBranch, err, out)
	}
	local := gitRun{dir: push, env: gitEnv("file")}
	if _, err := local.run(ctx, "fetch", "--quiet", "--no-tags", "--", dir, "+refs/heads/"+branch+":refs/heads/"+branch); err != nil {
		return fmt.Sprintf("the agent's work tree has no branch %s", branch), nil
	}
	out, err := local.run(ctx, "rev-list", "--count", "refs/fixloop/base..refs/heads/"+branch, "--")
	if n, _ := strconv.Atoi(out); err != nil || n == 0 {
		return fmt.Sprintf("the agent made no commit on %s: nothing to push to %s", branch, req.Repo), nil
	}
	if out, err := remote.run(ctx, "push", "--quiet", "--", req.RepoURL, "refs/heads/"+branch+":refs/heads/"+branch); err != nil {
		f.step(ctx, rec, "push", false, out)
		return "", fmt.Errorf("git push %s to %s: %v: %s", branch, req.Repo, err, out)
	}
	f.step(ctx, rec, "push", true, branch)
	if _, err := f.cfg.GitHub.FindPullRequest(ctx, req.Repo, branch); err == nil {
		return "", nil
	} else if !errors.Is(err, github.ErrNotFound) {
		return "", fmt.Errorf("look up pull request for %s: %w", branch, err)
	}
	_, err = f.cfg.GitHub.CreatePullRequest(ctx, req.Repo, github.NewPullRequest{
		Title: prTitle(req), Head: branch, Base: req.BaseBranch, Body: f.prBody(req, summary)})
	if err != nil {
		return "", fmt.Errorf("open pull request %s → %s: %w", branch, req.BaseBranch, err)
	}
	f.step(ctx, rec, "pull-request", true, branch)
	return "", nil
}

func prTitle(req Request) string {
	t := oneLine(firstNonEmpty(req.Title, "fix failure "+short(req.Fingerprint)))
	if len(t) > 120 {
		t = t[:120]
	}
	return "fixloop: " + t
}

// prBody quotes the agent's summary as its words, not fixloop's, and links the issue.
func (f *Fixer) prBody(req Request, summary string) string {
	var b strings.Builder
	b.WriteString("Opened by fixloop's fixer from a change made by its coding agent (OpenCode). Review before merging.\n\n")
	if s := strings.TrimSpace(summary); s != "" {
		b.WriteString("Agent's summary:\n\n")
		for _, l := range strings.Split(f.cfg.Redactor.String(clip(s, 4000)), "\n") {
			b.WriteString("> " + l + "\n")
		}
		b.WriteString("\n")
	}
	if req.Issue > 0 {
		fmt.Fprintf(&b, "Fixes #%d\n", req.Issue)
	}
	fmt.Fprintf(&b, "\n<!-- fixloop fingerprint %s -->\n", req.Fingerprint)
	return b.String()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
