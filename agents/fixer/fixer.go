// Package fixer is the fixer agent: it hands a fix plan to an OpenCode server, follows the session's
// events, and returns the pull request it verified through the GitHub API. One OpenCode session and one
// branch per failure fingerprint, persisted in the store, so retries, duplicates and restarts resume or
// return the existing pull request instead of starting over.
package fixer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/opencode"
	"github.com/fixloop/fixloop/internal/redact"
	"github.com/fixloop/fixloop/internal/slack"
	"github.com/fixloop/fixloop/internal/store"
	"github.com/fixloop/fixloop/internal/telemetry"
)

// Result statuses.
const (
	StatusPROpen = "pr_open" // a pull request for the fix branch exists (verified through the GitHub API)
	StatusNoPR   = "no_pr"   // the session finished but no pull request exists for the branch
	StatusFailed = "failed"  // LLM error, retry loop or timeout; the session was aborted
)

// Request is the input of the fix_issue skill.
type Request struct {
	RepoURL     string    `json:"repoUrl"`              // https URL on the configured git host; only owner/name is taken from it
	Repo        string    `json:"repo,omitempty"`       // owner/name on GitHub; derived from repoUrl when empty
	BaseBranch  string    `json:"baseBranch,omitempty"` // default "main"
	Issue       int       `json:"issue,omitempty"`
	IssueURL    string    `json:"issueUrl,omitempty"`
	Plan        string    `json:"plan,omitempty"`     // markdown; built from Findings with the fix_plan skill when empty
	Findings    *Findings `json:"findings,omitempty"` // verdict or health findings (alias: "verdict")
	Verdict     *Findings `json:"verdict,omitempty"`
	Fingerprint string    `json:"fingerprint"`
	Title       string    `json:"title,omitempty"`

	// Fields as the triage agent sends them (agents/triage.FixRequest), folded in by normalize.
	IssueNumber int      `json:"issueNumber,omitempty"`
	RootCause   string   `json:"rootCause,omitempty"`
	Remediation string   `json:"remediation,omitempty"`
	LogExamples []string `json:"logExamples,omitempty"`
}

// Result is the output of the fix_issue skill.
type Result struct {
	Status       string   `json:"status"`
	PRURL        string   `json:"prUrl,omitempty"`
	PRNumber     int      `json:"prNumber,omitempty"`
	Branch       string   `json:"branch"`
	SessionID    string   `json:"sessionId,omitempty"`
	Summary      string   `json:"summary"`
	FilesChanged []string `json:"filesChanged"`
	Error        string   `json:"error,omitempty"`
	LastMessages []string `json:"lastMessages,omitempty"`
	// Reused is true when an earlier run's pull request or session answered this request.
	Reused bool `json:"reused,omitempty"`
}

// Config configures the fixer.
type Config struct {
	OpenCode opencode.API
	Store    store.Store
	GitHub   github.Client
	// WorkDir holds one clone per (repository, fingerprint); it must be visible to the OpenCode server
	// at the same path (same machine, or a shared volume).
	WorkDir string
	// Timeout bounds one session turn (default 20 min); the session is aborted when it expires.
	Timeout time.Duration
	// RetryLimit aborts a session whose LLM calls failed this many times in a row (default 8; OpenCode
	// itself retries forever).
	RetryLimit int
	// MaxConcurrent fixes run at once (default 2); more wait their turn.
	MaxConcurrent int
	// MaxAttempts prompts per fingerprint before a failed/no_pr result is returned as is (default 3).
	MaxAttempts int
	// CloneBase is the git host fixloop clones from and pushes to (default https://github.com; see
	// CloneBaseFor). Repository URLs in requests must point at it.
	CloneBase string
	// Repos is the repository allow-list: owner/name glob patterns. Empty refuses every request.
	Repos []string
	// PushToken authenticates fixloop's own clone and push (sent only to CloneBase). OpenCode never
	// sees it: the agent commits, fixloop pushes and opens the pull request.
	PushToken string
	// ProviderID/ModelID select OpenCode's model; empty uses the server default.
	ProviderID, ModelID string
	Redactor            *redact.Redactor
	Logger              *slog.Logger
	// Notifier posts opened pull requests to Slack (nil: off).
	Notifier *slack.Notifier
}

// Progress receives human-readable progress lines.
type Progress func(string)

// Fixer runs fixes. Safe for concurrent use.
type Fixer struct {
	cfg Config
	log *slog.Logger
	sem chan struct{}

	mu       sync.Mutex
	inflight map[string]*run
}

type run struct {
	done   chan struct{}
	res    *Result
	err    error
	mu     sync.Mutex
	listen []Progress
}

func (r *run) progress(s string) {
	r.mu.Lock()
	ls := append([]Progress(nil), r.listen...)
	r.mu.Unlock()
	for _, l := range ls {
		l(s)
	}
}

// New validates cfg and returns a Fixer.
func New(cfg Config) (*Fixer, error) {
	switch {
	case cfg.OpenCode == nil:
		return nil, errors.New("fixer: no OpenCode server configured (set FIXLOOP_OPENCODE_URL)")
	case cfg.Store == nil:
		return nil, errors.New("fixer: a store is required (fingerprint → session/PR must survive restarts)")
	case cfg.GitHub == nil:
		return nil, errors.New("fixer: no GitHub client configured (set FIXLOOP_GITHUB_TOKEN / FIXLOOP_GITHUB_URL): the PR cannot be verified without it")
	case cfg.WorkDir == "":
		return nil, errors.New("fixer: a work directory is required (FIXLOOP_FIXER_WORKDIR)")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 20 * time.Minute
	}
	if cfg.RetryLimit <= 0 {
		cfg.RetryLimit = 8
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 2
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.CloneBase == "" {
		cfg.CloneBase = "https://github.com"
	}
	if _, err := (RepoPolicy{CloneBase: cfg.CloneBase}).base(); err != nil {
		return nil, fmt.Errorf("fixer: %w", err)
	}
	if len(cfg.Repos) == 0 {
		cfg.Logger.Warn("fixer: the repository allow-list is empty (FIXLOOP_FIXER_REPOS): every fix request will be refused")
	}
	if cfg.Redactor == nil {
		cfg.Redactor = redact.Default()
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("fixer: work directory %s: %w", cfg.WorkDir, err)
	}
	abs, err := filepath.Abs(cfg.WorkDir)
	if err != nil {
		return nil, err
	}
	cfg.WorkDir = abs
	return &Fixer{cfg: cfg, log: cfg.Logger, sem: make(chan struct{}, cfg.MaxConcurrent), inflight: map[string]*run{}}, nil
}

func (req *Request) normalize(policy RepoPolicy) error {
	if req.Findings == nil {
		req.Findings = req.Verdict
	}
	if req.Issue == 0 {
		req.Issue = req.IssueNumber
	}
	if req.RootCause != "" || req.Remediation != "" || len(req.LogExamples) > 0 {
		if req.Findings == nil {
			req.Findings = &Findings{}
		}
		if req.Findings.RootCause == "" {
			req.Findings.RootCause = req.RootCause
		}
		if req.Findings.Remediation == "" {
			req.Findings.Remediation = req.Remediation
		}
		for _, ex := range req.LogExamples {
			b, _ := json.Marshal(ex)
			req.Findings.Evidence = append(req.Findings.Evidence, b)
		}
	}
	repo, cloneURL, err := policy.Resolve(req.Repo, req.RepoURL)
	if err != nil {
		return err
	}
	req.Repo, req.RepoURL = repo, cloneURL
	if err := checkFingerprint(req.Fingerprint); err != nil {
		return err
	}
	if req.BaseBranch == "" {
		req.BaseBranch = "main"
	}
	if !validBranch(req.BaseBranch) {
		return fmt.Errorf("baseBranch %q is not a branch name", req.BaseBranch)
	}
	if req.Plan == "" && req.Findings == nil {
		return errors.New("a plan (markdown) or findings/verdict to build one from is required")
	}
	req.Issue = issueNumber(*req)
	return nil
}

// Fix runs (or resumes, or returns) the fix for req.Fingerprint. A duplicate request while the same
// fingerprint is in flight joins it and gets the same result.
func (f *Fixer) Fix(ctx context.Context, req Request, progress Progress) (*Result, error) {
	if err := req.normalize(f.policy()); err != nil {
		return nil, fmt.Errorf("fix_issue: %w", err)
	}
	if progress == nil {
		progress = func(string) {}
	}
	clean := func(s string) { progress(f.cfg.Redactor.String(s)) }

	f.mu.Lock()
	r, joined := f.inflight[req.Fingerprint]
	if !joined {
		r = &run{done: make(chan struct{})}
		f.inflight[req.Fingerprint] = r
	}
	r.mu.Lock()
	r.listen = append(r.listen, clean)
	r.mu.Unlock()
	f.mu.Unlock()

	if joined {
		clean("a fix for this fingerprint is already running; following it")
	} else {
		go func() {
			defer close(r.done)
			// The run outlives a cancelled caller only until the turn's own timeout: a client that
			// disconnects must not leave a session half-watched, and a rerun resumes it anyway.
			r.res, r.err = f.fixOnce(ctx, req, r.progress)
			f.mu.Lock()
			delete(f.inflight, req.Fingerprint)
			f.mu.Unlock()
		}()
	}
	select {
	case <-r.done:
		return r.res, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// sessionLease bounds how long a crashed replica's fix holds the fingerprint; a live one renews it.
const sessionLease = 30 * time.Second

// fixOnce runs fix holding the fingerprint's claim in the store: replicas sharing it (a task resumed on
// one while another still runs it) take turns, and the later one finds the earlier one's pull request.
func (f *Fixer) fixOnce(ctx context.Context, req Request, progress Progress) (*Result, error) {
	var res *Result
	_, err := store.Hold(ctx, f.cfg.Store, "fixer|"+req.Fingerprint, store.NewClaimOwner(), sessionLease, false, func(ctx context.Context) ([]byte, error) {
		var err error
		res, err = f.fix(ctx, req, progress)
		return nil, err
	})
	return res, err
}

func (f *Fixer) fix(ctx context.Context, req Request, progress Progress) (*Result, error) {
	select {
	case f.sem <- struct{}{}:
	default:
		progress(fmt.Sprintf("waiting for a free slot (%d fixes already running)", cap(f.sem)))
		telemetry.FixesWaiting.Inc()
		select {
		case f.sem <- struct{}{}:
			telemetry.FixesWaiting.Dec()
		case <-ctx.Done():
			telemetry.FixesWaiting.Dec()
			return nil, ctx.Err()
		}
	}
	telemetry.FixesRunning.Inc()
	defer func() { <-f.sem; telemetry.FixesRunning.Dec() }()

	branch := BranchFor(req.Fingerprint)
	rec, err := f.cfg.Store.GetFixerSession(ctx, req.Fingerprint)
	switch {
	case errors.Is(err, store.ErrNotFound):
		now := time.Now().UTC()
		rec = &store.FixerSession{Fingerprint: req.Fingerprint, Repo: req.Repo, Branch: branch, Status: "starting", CreatedAt: now, UpdatedAt: now}
		if err := f.cfg.Store.PutFixerSession(ctx, *rec); err != nil {
			return nil, fmt.Errorf("fixer: persist session record: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("fixer: read session record: %w", err)
	}
	if rec.Branch != "" {
		branch = rec.Branch
	}
	res := &Result{Branch: branch, SessionID: rec.SessionID, FilesChanged: []string{}}

	// 1. A pull request for the branch (recorded, or pushed by a run that died before recording it)
	// answers at once, unless a turn is still in flight: then the turn is followed to its end first.
	if pr, err := f.cfg.GitHub.FindPullRequest(ctx, req.Repo, branch); err == nil {
		if rec.Status != "running" {
			progress(fmt.Sprintf("pull request %s already exists for %s", pr.URL, branch))
			return f.finishPR(ctx, req, rec, res, pr, true)
		}
	} else if !errors.Is(err, github.ErrNotFound) {
		return nil, fmt.Errorf("fixer: look up pull request for %s: %w", branch, err)
	}

	// 2. Working directory: a clone of the repository on the fix branch.
	dir := CloneDirFor(f.cfg.WorkDir, req.Repo, req.Fingerprint)
	if err := f.ensureClone(ctx, req, dir, branch, progress); err != nil {
		f.step(ctx, rec, "clone", false, err.Error())
		return f.failed(ctx, rec, res, err.Error())
	}

	// 3. The session: reuse the recorded one unless the server lost it.
	resuming := false
	if rec.SessionID != "" {
		if _, err := f.cfg.OpenCode.GetSession(ctx, dir, rec.SessionID); err == nil {
			resuming = rec.Status == "running"
		} else if errors.Is(err, opencode.ErrNotFound) {
			progress("recorded OpenCode session " + rec.SessionID + " no longer exists; starting a new one")
			f.step(ctx, rec, "session-lost", false, rec.SessionID)
			rec.SessionID, rec.Status = "", "starting"
		} else {
			return nil, fmt.Errorf("fixer: %w", err)
		}
	}
	attempts := countSteps(rec, "prompt")
	if !resuming && attempts >= f.cfg.MaxAttempts && (rec.Status == StatusFailed || rec.Status == StatusNoPR) {
		res.Status, res.SessionID = rec.Status, rec.SessionID
		res.Error = fmt.Sprintf("gave up after %d attempts; last: %s", attempts, lastStepOutput(rec))
		res.Reused = true
		return res, nil
	}
	if rec.SessionID == "" {
		title := firstNonEmpty(req.Title, "fixloop fix "+short(req.Fingerprint))
		s, err := f.cfg.OpenCode.CreateSession(ctx, dir, title)
		if err != nil {
			return nil, fmt.Errorf("fixer: %w", err)
		}
		rec.SessionID = s.ID
		rec.Status = "session"
		if err := f.put(ctx, rec); err != nil {
			return nil, err
		}
		f.step(ctx, rec, "session", true, s.ID)
		progress("created OpenCode session " + s.ID + " in " + dir)
	}
	res.SessionID = rec.SessionID

	// 4. Prompt (unless resuming a turn in flight) and follow the events until the turn ends.
	w, err := opencode.Watch(ctx, f.cfg.OpenCode, dir, rec.SessionID)
	if err != nil {
		return nil, fmt.Errorf("fixer: %w", err)
	}
	defer w.Close()
	deadline := time.Now().Add(f.cfg.Timeout)
	if resuming {
		if at, ok := lastStepAt(rec, "prompt"); ok {
			deadline = at.Add(f.cfg.Timeout)
		}
		progress("resuming OpenCode session " + rec.SessionID + " (fixloop restarted or the request was repeated)")
		res.Reused = true
	} else {
		previous := ""
		if attempts > 0 {
			previous = lastStepOutput(rec)
		}
		text := f.prompt(req, branch, previous)
		if err := f.cfg.OpenCode.PromptAsync(ctx, dir, rec.SessionID, opencode.Prompt{
			Text: text, ProviderID: f.cfg.ProviderID, ModelID: f.cfg.ModelID}); err != nil {
			f.step(ctx, rec, "prompt", false, err.Error())
			return f.failed(ctx, rec, res, err.Error())
		}
		rec.Status = "running"
		f.step(ctx, rec, "prompt", true, fmt.Sprintf("attempt %d", attempts+1))
		progress(fmt.Sprintf("handed the plan to OpenCode (attempt %d, timeout %s)", attempts+1, f.cfg.Timeout))
	}

	waitCtx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	rep := newReporter(dir, progress)
	wr, werr := w.Wait(waitCtx, opencode.WaitOptions{RetryLimit: f.cfg.RetryLimit, Resume: resuming, OnEvent: rep.event})
	res.FilesChanged = rep.files()
	switch {
	case werr != nil && errors.Is(werr, context.DeadlineExceeded) && ctx.Err() == nil:
		msg := fmt.Sprintf("OpenCode session did not finish within %s", f.cfg.Timeout)
		if wr.LastRetry.Type != "retry" {
			// No retry event arrived in time (a slow first backoff): ask the server what it is doing now.
			if st, err := f.cfg.OpenCode.Status(ctx, dir); err == nil && st[rec.SessionID].Type == "retry" {
				wr.LastRetry = st[rec.SessionID]
			}
		}
		if wr.LastRetry.Type == "retry" {
			msg += fmt.Sprintf("; the LLM call was failing (retry %d: %s)", wr.LastRetry.Attempt, oneLine(wr.LastRetry.Message))
		}
		f.abort(dir, rec.SessionID, progress)
		msg += "; session aborted"
		f.step(ctx, rec, "wait", false, msg)
		return f.failed(ctx, rec, res, msg)
	case werr != nil:
		// The caller went away (or fixloop is stopping): leave the session running; a rerun resumes it.
		return nil, fmt.Errorf("fixer: following session %s: %w", rec.SessionID, werr)
	case wr.Reason == opencode.WaitRetryLimit:
		f.abort(dir, rec.SessionID, progress)
		msg := fmt.Sprintf("the LLM call failed %d times in a row (%s); session aborted — check the model endpoint and its credentials", wr.LastRetry.Attempt, oneLine(wr.LastRetry.Message))
		f.step(ctx, rec, "wait", false, msg)
		return f.failed(ctx, rec, res, msg)
	case len(wr.Errors) > 0:
		msg := "OpenCode session failed: " + strings.Join(wr.Errors, "; ")
		if hint := errorHint(wr.Errors); hint != "" {
			msg += " — " + hint
		}
		f.step(ctx, rec, "wait", false, msg)
		f.collect(ctx, dir, rec.SessionID, res)
		return f.failed(ctx, rec, res, msg)
	}
	f.step(ctx, rec, "wait", true, "session idle")

	// 5. Collect what the agent said and did, push its commits and open the PR, then verify.
	f.collect(ctx, dir, rec.SessionID, res)
	why, err := f.deliver(ctx, req, rec, dir, branch, res.Summary)
	if err != nil {
		f.step(ctx, rec, "deliver", false, err.Error())
		return f.failed(ctx, rec, res, err.Error())
	}
	if why != "" {
		return f.noPR(ctx, rec, res, why)
	}
	if _, err := f.cfg.GitHub.GetBranch(ctx, req.Repo, branch); err != nil {
		if !errors.Is(err, github.ErrNotFound) {
			return nil, fmt.Errorf("fixer: verify branch %s: %w", branch, err)
		}
		return f.noPR(ctx, rec, res, fmt.Sprintf("branch %s was not pushed to %s", branch, req.Repo))
	}
	pr, err := f.cfg.GitHub.FindPullRequest(ctx, req.Repo, branch)
	if errors.Is(err, github.ErrNotFound) {
		return f.noPR(ctx, rec, res, fmt.Sprintf("branch %s exists but no pull request was opened for it", branch))
	}
	if err != nil {
		return nil, fmt.Errorf("fixer: verify pull request for %s: %w", branch, err)
	}
	progress(fmt.Sprintf("verified pull request %s (branch %s)", pr.URL, branch))
	return f.finishPR(ctx, req, rec, res, pr, false)
}

// finishPR records the PR, links it from the issue once, and returns pr_open.
func (f *Fixer) finishPR(ctx context.Context, req Request, rec *store.FixerSession, res *Result, pr *github.PullRequest, reused bool) (*Result, error) {
	rec.PRNumber, rec.PRURL, rec.Status = pr.Number, pr.URL, StatusPROpen
	if err := f.put(ctx, rec); err != nil {
		return nil, err
	}
	if req.Issue > 0 && countSteps(rec, "issue-comment") == 0 {
		body := fmt.Sprintf("fixloop's fixer opened %s for this issue (branch `%s`, OpenCode session `%s`).", pr.URL, rec.Branch, rec.SessionID)
		if err := f.cfg.GitHub.CommentIssue(ctx, req.Repo, req.Issue, body); err != nil {
			f.log.Warn("could not comment on the issue", "issue", req.Issue, "err", err)
			f.step(ctx, rec, "issue-comment-failed", false, err.Error())
		} else {
			f.step(ctx, rec, "issue-comment", true, fmt.Sprintf("#%d", req.Issue))
		}
	}
	f.prOpened(ctx, req, pr)
	res.Status, res.PRURL, res.PRNumber, res.SessionID = StatusPROpen, pr.URL, pr.Number, rec.SessionID
	res.Reused = res.Reused || reused
	if res.Summary == "" {
		res.Summary = fmt.Sprintf("pull request #%d: %s", pr.Number, pr.Title)
	}
	return res, nil
}

func (f *Fixer) noPR(ctx context.Context, rec *store.FixerSession, res *Result, why string) (*Result, error) {
	rec.Status = StatusNoPR
	f.step(ctx, rec, "verify", false, why)
	res.Status, res.Error = StatusNoPR, why+" (the agent's last messages are attached)"
	return res, nil
}

func (f *Fixer) failed(ctx context.Context, rec *store.FixerSession, res *Result, why string) (*Result, error) {
	rec.Status = StatusFailed
	_ = f.put(ctx, rec)
	res.Status, res.Error, res.SessionID = StatusFailed, f.cfg.Redactor.String(why), rec.SessionID
	return res, nil
}

// abort stops a session on a fresh context: the caller's may be the one that expired.
func (f *Fixer) abort(dir, id string, progress Progress) {
	// On a loaded machine OpenCode took over 30 s to answer an abort, and a failed abort leaves the
	// session retrying forever: allow as long as any other OpenCode call (the client's 60 s bound).
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := f.cfg.OpenCode.Abort(ctx, dir, id); err != nil {
		progress("could not abort session " + id + ": " + err.Error())
		return
	}
	progress("aborted OpenCode session " + id)
}

// collect fills summary, changed files and the last messages from the session.
func (f *Fixer) collect(ctx context.Context, dir, id string, res *Result) {
	msgs, err := f.cfg.OpenCode.Messages(ctx, dir, id)
	if err != nil {
		res.LastMessages = append(res.LastMessages, "(could not read the session's messages: "+err.Error()+")")
		return
	}
	seen := map[string]bool{}
	for _, p := range res.FilesChanged {
		seen[p] = true
	}
	var texts []string
	for _, m := range msgs {
		if m.Role != "assistant" {
			continue
		}
		for _, p := range m.Parts {
			for _, file := range p.Files {
				rel := relTo(dir, file)
				if !seen[rel] {
					seen[rel] = true
					res.FilesChanged = append(res.FilesChanged, rel)
				}
			}
		}
		if t := strings.TrimSpace(m.Text()); t != "" {
			texts = append(texts, t)
		}
		if m.Error != "" {
			texts = append(texts, "error: "+m.Error)
		}
	}
	if len(texts) > 0 {
		res.Summary = f.cfg.Redactor.String(texts[len(texts)-1])
	}
	if len(texts) > 3 {
		texts = texts[len(texts)-3:]
	}
	res.LastMessages = f.cfg.Redactor.Strings(texts)
}

// prompt is the text OpenCode gets: the plan and the previous error, redacted and fenced as untrusted
// data, between fixloop's own rules and delivery steps.
func (f *Fixer) prompt(req Request, branch, previous string) string {
	plan := req.Plan
	if plan == "" {
		plan = BuildPlan(req)
	}
	red := f.cfg.Redactor.String
	return composePrompt(req, red(plan), branch, red(previous), newNonce())
}

// policy is the repository policy from the configuration.
func (f *Fixer) policy() RepoPolicy {
	return RepoPolicy{Allow: f.cfg.Repos, CloneBase: f.cfg.CloneBase}
}

func (f *Fixer) put(ctx context.Context, rec *store.FixerSession) error {
	rec.UpdatedAt = time.Now().UTC()
	if err := f.cfg.Store.PutFixerSession(ctx, *rec); err != nil {
		return fmt.Errorf("fixer: persist session record: %w", err)
	}
	return nil
}

// step persists the record and appends one step result.
func (f *Fixer) step(ctx context.Context, rec *store.FixerSession, name string, ok bool, out string) {
	st := store.FixerStep{Name: name, OK: ok, Output: f.cfg.Redactor.String(out), At: time.Now().UTC()}
	rec.Steps = append(rec.Steps, st)
	// Put first (status, ids), then the step: AppendFixerStep is the store's atomic append.
	steps := rec.Steps
	rec.Steps = steps[:len(steps)-1]
	if err := f.put(ctx, rec); err != nil {
		f.log.Warn("fixer: persist record", "err", err)
	}
	rec.Steps = steps
	if err := f.cfg.Store.AppendFixerStep(ctx, rec.Fingerprint, st); err != nil {
		f.log.Warn("fixer: persist step", "step", name, "err", err)
	}
}

func countSteps(rec *store.FixerSession, name string) int {
	n := 0
	for _, s := range rec.Steps {
		if s.Name == name && s.OK {
			n++
		}
	}
	return n
}

func lastStepAt(rec *store.FixerSession, name string) (time.Time, bool) {
	for i := len(rec.Steps) - 1; i >= 0; i-- {
		if rec.Steps[i].Name == name && rec.Steps[i].OK {
			return rec.Steps[i].At, true
		}
	}
	return time.Time{}, false
}

func lastStepOutput(rec *store.FixerSession) string {
	for i := len(rec.Steps) - 1; i >= 0; i-- {
		if !rec.Steps[i].OK {
			return rec.Steps[i].Output
		}
	}
	return rec.Status
}

func errorHint(errs []string) string {
	all := strings.Join(errs, " ")
	switch {
	case strings.Contains(all, "401") || strings.Contains(all, "ProviderAuthError"):
		return "the model endpoint refused OpenCode's API key (HTTP 401), so check the API key configured for the provider"
	case strings.Contains(all, "403"):
		return "the model endpoint refused access: check the key's permissions"
	case strings.Contains(all, "MessageAbortedError"):
		return "the session was aborted"
	}
	return ""
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func relTo(dir, p string) string {
	if r, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}
