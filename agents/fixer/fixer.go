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

// fixRun is one run of fix: the request, its stored session record and the result being built.
type fixRun struct {
	*Fixer
	req      Request
	progress Progress
	rec      *store.FixerSession
	res      *Result
	dir      string
	branch   string
	attempts int  // prompts sent in earlier runs
	resuming bool // a turn of an earlier run is still in flight: follow it instead of prompting
}

// fix runs the steps in order: an existing pull request, the clone, the OpenCode session, one turn,
// then delivery and verification. Each step returns a final result when the run ends there.
func (f *Fixer) fix(ctx context.Context, req Request, progress Progress) (*Result, error) {
	release, err := f.acquireSlot(ctx, progress)
	if err != nil {
		return nil, err
	}
	defer release()
	r := &fixRun{Fixer: f, req: req, progress: progress}
	if err := r.loadRecord(ctx); err != nil {
		return nil, err
	}
	steps := []func(context.Context) (*Result, error){r.existingPR, r.clone, r.openSession, r.turn, r.deliverAndVerify}
	for _, step := range steps {
		if res, err := step(ctx); res != nil || err != nil {
			return res, err
		}
	}
	return nil, errors.New("fixer: the run ended without a result") // deliverAndVerify always returns one
}

// acquireSlot waits for one of the MaxConcurrent slots, saying so when it has to wait.
func (f *Fixer) acquireSlot(ctx context.Context, progress Progress) (release func(), err error) {
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
	return func() { <-f.sem; telemetry.FixesRunning.Dec() }, nil
}

// loadRecord reads the fingerprint's session record, creating it on the first run.
func (r *fixRun) loadRecord(ctx context.Context) error {
	r.branch = BranchFor(r.req.Fingerprint)
	rec, err := r.cfg.Store.GetFixerSession(ctx, r.req.Fingerprint)
	switch {
	case errors.Is(err, store.ErrNotFound):
		now := time.Now().UTC()
		rec = &store.FixerSession{Fingerprint: r.req.Fingerprint, Repo: r.req.Repo, Branch: r.branch, Status: "starting", CreatedAt: now, UpdatedAt: now}
		if err := r.cfg.Store.PutFixerSession(ctx, *rec); err != nil {
			return fmt.Errorf("fixer: persist session record: %w", err)
		}
	case err != nil:
		return fmt.Errorf("fixer: read session record: %w", err)
	}
	if rec.Branch != "" {
		r.branch = rec.Branch
	}
	r.rec = rec
	r.res = &Result{Branch: r.branch, SessionID: rec.SessionID, FilesChanged: []string{}}
	return nil
}

// existingPR: a pull request for the branch (recorded, or pushed by a run that died before recording
// it) answers at once, unless a turn is still in flight: then the turn is followed to its end first.
func (r *fixRun) existingPR(ctx context.Context) (*Result, error) {
	pr, err := r.cfg.GitHub.FindPullRequest(ctx, r.req.Repo, r.branch)
	switch {
	case errors.Is(err, github.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("fixer: look up pull request for %s: %w", r.branch, err)
	case r.rec.Status == "running":
		return nil, nil
	}
	r.progress(fmt.Sprintf("pull request %s already exists for %s", pr.URL, r.branch))
	return r.finishPR(ctx, r.req, r.rec, r.res, pr, true)
}

// clone makes the working directory: a clone of the repository on the fix branch.
func (r *fixRun) clone(ctx context.Context) (*Result, error) {
	r.dir = CloneDirFor(r.cfg.WorkDir, r.req.Repo, r.req.Fingerprint)
	if err := r.ensureClone(ctx, r.req, r.dir, r.branch, r.progress); err != nil {
		r.step(ctx, r.rec, "clone", false, err.Error())
		return r.failed(ctx, r.rec, r.res, err.Error())
	}
	return nil, nil
}

// openSession reuses the recorded session unless the server lost it, gives up after MaxAttempts
// failed prompts, and otherwise creates a session.
func (r *fixRun) openSession(ctx context.Context) (*Result, error) {
	rec := r.rec
	if rec.SessionID != "" {
		if _, err := r.cfg.OpenCode.GetSession(ctx, r.dir, rec.SessionID); err == nil {
			r.resuming = rec.Status == "running"
		} else if errors.Is(err, opencode.ErrNotFound) {
			r.progress("recorded OpenCode session " + rec.SessionID + " no longer exists; starting a new one")
			r.step(ctx, rec, "session-lost", false, rec.SessionID)
			rec.SessionID, rec.Status = "", "starting"
		} else {
			return nil, fmt.Errorf("fixer: %w", err)
		}
	}
	r.attempts = countSteps(rec, "prompt")
	if !r.resuming && r.attempts >= r.cfg.MaxAttempts && (rec.Status == StatusFailed || rec.Status == StatusNoPR) {
		r.res.Status, r.res.SessionID = rec.Status, rec.SessionID
		r.res.Error = fmt.Sprintf("gave up after %d attempts; last: %s", r.attempts, lastStepOutput(rec))
		r.res.Reused = true
		return r.res, nil
	}
	if rec.SessionID == "" {
		title := firstNonEmpty(r.req.Title, "fixloop fix "+short(r.req.Fingerprint))
		s, err := r.cfg.OpenCode.CreateSession(ctx, r.dir, title)
		if err != nil {
			return nil, fmt.Errorf("fixer: %w", err)
		}
		rec.SessionID, rec.Status = s.ID, "session"
		if err := r.put(ctx, rec); err != nil {
			return nil, err
		}
		r.step(ctx, rec, "session", true, s.ID)
		r.progress("created OpenCode session " + s.ID + " in " + r.dir)
	}
	r.res.SessionID = rec.SessionID
	return nil, nil
}

// turn prompts (unless resuming a turn in flight) and follows the events until the turn ends.
func (r *fixRun) turn(ctx context.Context) (*Result, error) {
	w, err := opencode.Watch(ctx, r.cfg.OpenCode, r.dir, r.rec.SessionID)
	if err != nil {
		return nil, fmt.Errorf("fixer: %w", err)
	}
	defer w.Close()
	deadline := time.Now().Add(r.cfg.Timeout)
	if r.resuming {
		if at, ok := lastStepAt(r.rec, "prompt"); ok {
			deadline = at.Add(r.cfg.Timeout)
		}
		r.progress("resuming OpenCode session " + r.rec.SessionID + " (fixloop restarted or the request was repeated)")
		r.res.Reused = true
	} else if res, err := r.prompt(ctx); res != nil || err != nil {
		return res, err
	}
	waitCtx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	rep := newReporter(r.dir, r.progress)
	wr, werr := w.Wait(waitCtx, opencode.WaitOptions{RetryLimit: r.cfg.RetryLimit, Resume: r.resuming, OnEvent: rep.event})
	r.res.FilesChanged = rep.files()
	return r.turnEnded(ctx, wr, werr)
}

// prompt hands the plan (and the previous attempt's outcome) to the session.
func (r *fixRun) prompt(ctx context.Context) (*Result, error) {
	previous := ""
	if r.attempts > 0 {
		previous = lastStepOutput(r.rec)
	}
	text := r.Fixer.prompt(r.req, r.branch, previous)
	if err := r.cfg.OpenCode.PromptAsync(ctx, r.dir, r.rec.SessionID, opencode.Prompt{
		Text: text, ProviderID: r.cfg.ProviderID, ModelID: r.cfg.ModelID}); err != nil {
		r.step(ctx, r.rec, "prompt", false, err.Error())
		return r.failed(ctx, r.rec, r.res, err.Error())
	}
	r.rec.Status = "running"
	r.step(ctx, r.rec, "prompt", true, fmt.Sprintf("attempt %d", r.attempts+1))
	r.progress(fmt.Sprintf("handed the plan to OpenCode (attempt %d, timeout %s)", r.attempts+1, r.cfg.Timeout))
	return nil, nil
}

// turnEnded turns how the wait ended into a failed result, an error (the caller went away: the
// session keeps running and a rerun resumes it) or nil to go on to delivery.
func (r *fixRun) turnEnded(ctx context.Context, wr opencode.WaitResult, werr error) (*Result, error) {
	rec := r.rec
	switch {
	case werr != nil && errors.Is(werr, context.DeadlineExceeded) && ctx.Err() == nil:
		msg := r.timedOut(ctx, wr)
		r.step(ctx, rec, "wait", false, msg)
		return r.failed(ctx, rec, r.res, msg)
	case werr != nil:
		return nil, fmt.Errorf("fixer: following session %s: %w", rec.SessionID, werr)
	case wr.Reason == opencode.WaitRetryLimit:
		r.abort(r.dir, rec.SessionID, r.progress)
		msg := fmt.Sprintf("the LLM call failed %d times in a row (%s); session aborted — check the model endpoint and its credentials", wr.LastRetry.Attempt, oneLine(wr.LastRetry.Message))
		r.step(ctx, rec, "wait", false, msg)
		return r.failed(ctx, rec, r.res, msg)
	case len(wr.Errors) > 0:
		msg := "OpenCode session failed: " + strings.Join(wr.Errors, "; ")
		if hint := errorHint(wr.Errors); hint != "" {
			msg += " — " + hint
		}
		r.step(ctx, rec, "wait", false, msg)
		r.collect(ctx, r.dir, rec.SessionID, r.res)
		return r.failed(ctx, rec, r.res, msg)
	}
	r.step(ctx, rec, "wait", true, "session idle")
	return nil, nil
}

// timedOut aborts a turn that outlived Timeout and says why, naming a failing LLM call if there is one.
func (r *fixRun) timedOut(ctx context.Context, wr opencode.WaitResult) string {
	msg := fmt.Sprintf("OpenCode session did not finish within %s", r.cfg.Timeout)
	if wr.LastRetry.Type != "retry" {
		// No retry event arrived in time (a slow first backoff): ask the server what it is doing now.
		if st, err := r.cfg.OpenCode.Status(ctx, r.dir); err == nil && st[r.rec.SessionID].Type == "retry" {
			wr.LastRetry = st[r.rec.SessionID]
		}
	}
	if wr.LastRetry.Type == "retry" {
		msg += fmt.Sprintf("; the LLM call was failing (retry %d: %s)", wr.LastRetry.Attempt, oneLine(wr.LastRetry.Message))
	}
	r.abort(r.dir, r.rec.SessionID, r.progress)
	return msg + "; session aborted"
}

// deliverAndVerify collects what the agent said and did, pushes its commits and opens the pull
// request, then verifies both through the GitHub API.
func (r *fixRun) deliverAndVerify(ctx context.Context) (*Result, error) {
	req, rec, res, branch := r.req, r.rec, r.res, r.branch
	r.collect(ctx, r.dir, rec.SessionID, res)
	why, err := r.deliver(ctx, req, rec, r.dir, branch, res.Summary)
	if err != nil {
		r.step(ctx, rec, "deliver", false, err.Error())
		return r.failed(ctx, rec, res, err.Error())
	}
	if why != "" {
		return r.noPR(ctx, rec, res, why)
	}
	if _, err := r.cfg.GitHub.GetBranch(ctx, req.Repo, branch); err != nil {
		if !errors.Is(err, github.ErrNotFound) {
			return nil, fmt.Errorf("fixer: verify branch %s: %w", branch, err)
		}
		return r.noPR(ctx, rec, res, fmt.Sprintf("branch %s was not pushed to %s", branch, req.Repo))
	}
	pr, err := r.cfg.GitHub.FindPullRequest(ctx, req.Repo, branch)
	if errors.Is(err, github.ErrNotFound) {
		return r.noPR(ctx, rec, res, fmt.Sprintf("branch %s exists but no pull request was opened for it", branch))
	}
	if err != nil {
		return nil, fmt.Errorf("fixer: verify pull request for %s: %w", branch, err)
	}
	r.progress(fmt.Sprintf("verified pull request %s (branch %s)", pr.URL, branch))
	return r.finishPR(ctx, req, rec, res, pr, false)
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
