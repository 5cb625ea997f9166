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
