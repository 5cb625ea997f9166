// Package github files fixloop's findings as GitHub issues (exactly one open issue per failure
// fingerprint) and offers the few pull-request helpers the fixer agent needs. It uses go-github v66
// against github.com, GitHub Enterprise or the local GitHub-compatible sink (ghsink). Every string sent
// to GitHub passes the configured redactor first.
package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v66/github"

	"github.com/fixloop/fixloop/internal/fence"
	"github.com/fixloop/fixloop/internal/retryafter"
	"github.com/fixloop/fixloop/internal/telemetry"
)

// Client is what tools and agents use.
type Client interface {
	// EnsureIssue opens, updates or reopens the single issue for req.Fingerprint (see EnsureIssue docs).
	EnsureIssue(ctx context.Context, req IssueRequest) (*IssueResult, error)
	// CommentIssue adds a comment to an issue or pull request.
	CommentIssue(ctx context.Context, repo string, number int, body string) error
	// GetBranch returns the branch head, or ErrNotFound.
	GetBranch(ctx context.Context, repo, branch string) (*Branch, error)
	// FindPullRequest returns the pull request whose head is branch (open preferred, then the newest
	// closed/merged one), or ErrNotFound.
	FindPullRequest(ctx context.Context, repo, branch string) (*PullRequest, error)
	// CreatePullRequest opens a pull request.
	CreatePullRequest(ctx context.Context, repo string, pr NewPullRequest) (*PullRequest, error)
}

// Redactor removes secrets from text; *redact.Redactor satisfies it.
type Redactor interface{ String(string) string }

// ErrNotFound is returned when a branch or pull request does not exist.
var ErrNotFound = errors.New("github: not found")

// Config configures the client.
type Config struct {
	// Token is a personal access / app installation token. Empty works only against the local sink.
	Token string
	// BaseURL is the REST API root: empty for api.github.com, a GitHub Enterprise host
	// (https://ghe.example.com — /api/v3/ is added) or a full API root ending in "/" (the local sink).
	BaseURL string
	// Labels are added to every issue (e.g. a label a coding agent watches); Assignees are assigned.
	Labels    []string
	Assignees []string
	// Redactor is applied to every title, body and comment before it is sent. Required.
	Redactor Redactor
	// HTTPClient defaults to one with a 30 s timeout.
	HTTPClient *http.Client
	// MaxRetries for rate limits (403/429) and 5xx; default 4. RetryBase is the first backoff (default
	// 500 ms, doubled each time). MaxRetryWait caps a single wait (default 60 s): a rate limit that resets
	// later than that fails at once with a clear error instead of blocking a canary analysis.
	MaxRetries   int
	RetryBase    time.Duration
	MaxRetryWait time.Duration
	Logger       *slog.Logger
	Now          func() time.Time
}

// GitHub is the go-github backed Client.
type GitHub struct {
	c   *gh.Client
	cfg Config
	log *slog.Logger

	mu    sync.Mutex
	locks map[string]*sync.Mutex // per fingerprint: serialises EnsureIssue so one process never races itself
}

var _ Client = (*GitHub)(nil)

// New builds a client. It makes no network call.
func New(cfg Config) (*GitHub, error) {
	if cfg.Redactor == nil {
		return nil, errors.New("github: a redactor is required (everything sent to GitHub must be redacted)")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	traced := *cfg.HTTPClient // a copy: the caller's client stays as it was
	traced.Transport = fenceCheck{telemetry.Transport(traced.Transport, "github")}
	cfg.HTTPClient = &traced
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 4
	}
	if cfg.RetryBase == 0 {
		cfg.RetryBase = 500 * time.Millisecond
	}
	if cfg.MaxRetryWait == 0 {
		cfg.MaxRetryWait = 60 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := gh.NewClient(cfg.HTTPClient)
	if cfg.Token != "" {
		c = c.WithAuthToken(cfg.Token)
	}
	if b := strings.TrimSpace(cfg.BaseURL); b != "" {
		u, err := url.Parse(b)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("github: base URL %q is not an absolute URL (want https://ghe.example.com or http://127.0.0.1:PORT/)", b)
		}
		if strings.HasSuffix(b, "/") || strings.Contains(u.Path, "/api/") || u.Host == "api.github.com" {
			if !strings.HasSuffix(u.Path, "/") {
				u.Path += "/"
			}
			c.BaseURL, c.UploadURL = u, u
		} else if c, err = c.WithEnterpriseURLs(b, b); err != nil {
			return nil, fmt.Errorf("github: enterprise URL %q: %w", b, err)
		}
	}
	c.UserAgent = "fixloop"
	return &GitHub{c: c, cfg: cfg, log: cfg.Logger, locks: map[string]*sync.Mutex{}}, nil
}

// ErrFenced means a write was not sent because the claim it was made under is no longer this
// holder's (another replica took the work over) or could not be confirmed.
var ErrFenced = errors.New("github: write not sent: the work's claim is not ours any more")

// fenceCheck checks the request context's fencing tokens (internal/fence) right before every write leaves
// the process, so a replica that lost its lease while paused never opens, comments on or labels an
// issue the new holder is handling. Reads go through unchecked.
type fenceCheck struct{ next http.RoundTripper }

func (f fenceCheck) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if err := fence.Verify(req.Context()); err != nil {
			if req.Body != nil {
				_ = req.Body.Close() // a RoundTripper closes the body even on error
			}
			return nil, fmt.Errorf("%w (%s %s): %w", ErrFenced, req.Method, req.URL.Path, err)
		}
	}
	return f.next.RoundTrip(req)
}

// BaseURL reports the API root in use.
func (g *GitHub) BaseURL() string { return g.c.BaseURL.String() }

func (g *GitHub) lock(key string) func() {
	g.mu.Lock()
	l, ok := g.locks[key]
	if !ok {
		l = &sync.Mutex{}
		g.locks[key] = l
	}
	g.mu.Unlock()
	l.Lock()
	return l.Unlock
}

func (g *GitHub) clean(s string) string { return g.cfg.Redactor.String(s) }

// ParseRepo accepts "owner/name", "https://host/owner/name(.git)", "git@host:owner/name.git".
func ParseRepo(s string) (owner, name string, err error) {
	s = strings.TrimSpace(s)
	orig := s
	if i := strings.Index(s, "://"); i >= 0 {
		u, perr := url.Parse(s)
		if perr != nil {
			return "", "", fmt.Errorf("github: repository %q: %w", orig, perr)
		}
		s = strings.Trim(u.Path, "/")
	} else if at := strings.Index(s, "@"); at >= 0 && strings.Contains(s, ":") {
		s = s[strings.Index(s, ":")+1:]
	}
	s = strings.TrimSuffix(strings.Trim(s, "/"), ".git")
	parts := strings.Split(s, "/")
	if len(parts) < 2 || parts[len(parts)-2] == "" || parts[len(parts)-1] == "" {
		return "", "", fmt.Errorf("github: repository %q: want owner/name or a repository URL", orig)
	}
	return parts[len(parts)-2], parts[len(parts)-1], nil
}

// --- retries ---

// retryable classifies an error from go-github: how long to wait, and whether a retry makes sense.
func (g *GitHub) retryable(err error, resp *gh.Response, attempt int) (time.Duration, bool) {
	backoff := g.cfg.RetryBase << attempt
	var rle *gh.RateLimitError
	var abuse *gh.AbuseRateLimitError
	switch {
	case errors.As(err, &rle):
		if !rle.Rate.Reset.Time.IsZero() {
			return time.Until(rle.Rate.Reset.Time) + 500*time.Millisecond, true
		}
		return backoff, true
	case errors.As(err, &abuse):
		if abuse.RetryAfter != nil {
			return *abuse.RetryAfter, true
		}
		return backoff, true
	}
	if resp != nil && resp.Response != nil {
		code := resp.StatusCode
		if code == http.StatusTooManyRequests || code == http.StatusForbidden && resp.Header.Get("Retry-After") != "" {
			if d, ok := retryAfter(resp.Header, g.cfg.Now()); ok {
				return d, true
			}
			return backoff, true
		}
		if code >= 500 {
			return backoff, true
		}
		return 0, false
	}
	var ue *url.Error
	if errors.As(err, &ue) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrFenced) {
		return backoff, true // connection refused/reset: the server may come back
	}
	return 0, false
}

// retryAfter is the server's Retry-After, else GitHub's X-RateLimit-Reset (a Unix time).
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if d, ok := retryafter.Parse(h, now); ok {
		return d, true
	}
	if v := h.Get("X-RateLimit-Reset"); v != "" {
		if unix, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			return time.Unix(unix, 0).Sub(now) + 500*time.Millisecond, true
		}
	}
	return 0, false
}

// call runs fn with retries on rate limits and server errors. op names the operation in errors.
func (g *GitHub) call(ctx context.Context, op string, fn func() (*gh.Response, error)) error {
	var err error
	for attempt := 0; ; attempt++ {
		var resp *gh.Response
		resp, err = fn()
		if err == nil {
			return nil
		}
		wait, ok := g.retryable(err, resp, attempt)
		if !ok {
			break
		}
		if attempt >= g.cfg.MaxRetries {
			return fmt.Errorf("github: %s: gave up after %d attempts: %w", op, attempt+1, err)
		}
		if wait < 0 {
			wait = 0
		}
		if wait > g.cfg.MaxRetryWait {
			return fmt.Errorf("github: %s: rate limited for %s more (over the %s wait cap; check the token's quota): %w", op, wait.Round(time.Second), g.cfg.MaxRetryWait, err)
		}
		g.log.Warn("github call failed, retrying", "op", op, "attempt", attempt+1, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("github: %s: %w (last error: %v)", op, ctx.Err(), err)
		case <-t.C:
		}
	}
	return describe(op, err)
}

func describe(op string, err error) error {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		switch er.Response.StatusCode {
		case http.StatusUnauthorized:
			return fmt.Errorf("github: %s: unauthorized: set a valid FIXLOOP_GITHUB_TOKEN/GITHUB_TOKEN: %w", op, err)
		case http.StatusForbidden:
			return fmt.Errorf("github: %s: forbidden: the token lacks permission (issues: write, pull requests: write, contents: read): %w", op, err)
		case http.StatusNotFound:
			return fmt.Errorf("github: %s: not found: check the repository name and that the token can see it: %w", op, err)
		case http.StatusUnprocessableEntity:
			return fmt.Errorf("github: %s: rejected (422): %w", op, err)
		}
	}
	return fmt.Errorf("github: %s: %w", op, err)
}

func isNotFound(err error) bool {
	var er *gh.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound
}

// --- PR helpers for the fixer ---

// Branch is a branch head.
type Branch struct {
	Name string `json:"name"`
	SHA  string `json:"sha"`
}

// PullRequest is the subset of a pull request fixloop uses.
type PullRequest struct {
	Number int    `json:"number"`
	URL    string `json:"url"` // html URL
	State  string `json:"state"`
	Merged bool   `json:"merged"`
	Head   string `json:"head"`
	Base   string `json:"base"`
	Title  string `json:"title"`
}

// NewPullRequest describes a pull request to open.
type NewPullRequest struct {
	Title string
	Head  string // branch name in the same repository
	Base  string
	Body  string
	Draft bool
}

// GetBranch implements Client.
func (g *GitHub) GetBranch(ctx context.Context, repo, branch string) (*Branch, error) {
	owner, name, err := ParseRepo(repo)
	if err != nil {
		return nil, err
	}
	var b *gh.Branch
	err = g.call(ctx, "get branch "+branch, func() (r *gh.Response, err error) {
		b, r, err = g.c.Repositories.GetBranch(ctx, owner, name, branch, 2)
		if isNotFound(err) || r != nil && r.StatusCode == http.StatusNotFound {
			b = nil
			return r, nil
		}
		return r, err
	})
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("branch %s in %s/%s: %w", branch, owner, name, ErrNotFound)
	}
	return &Branch{Name: b.GetName(), SHA: b.GetCommit().GetSHA()}, nil
}

func toPR(p *gh.PullRequest) *PullRequest {
	return &PullRequest{Number: p.GetNumber(), URL: p.GetHTMLURL(), State: p.GetState(), Merged: p.GetMerged() || p.MergedAt != nil,
		Head: p.GetHead().GetRef(), Base: p.GetBase().GetRef(), Title: p.GetTitle()}
}

// FindPullRequest implements Client.
func (g *GitHub) FindPullRequest(ctx context.Context, repo, branch string) (*PullRequest, error) {
	owner, name, err := ParseRepo(repo)
	if err != nil {
		return nil, err
	}
	var prs []*gh.PullRequest
	err = g.call(ctx, "list pull requests for "+branch, func() (r *gh.Response, err error) {
		prs, r, err = g.c.PullRequests.List(ctx, owner, name, &gh.PullRequestListOptions{
			State: "all", Head: owner + ":" + branch, Sort: "created", Direction: "desc", ListOptions: gh.ListOptions{PerPage: 20}})
		return r, err
	})
	if err != nil {
		return nil, err
	}
	var best *gh.PullRequest
	for _, p := range prs {
		if p.GetHead().GetRef() != branch {
			continue // defensive: some servers ignore the head filter
		}
		if best == nil || p.GetState() == "open" && best.GetState() != "open" {
			best = p
		}
	}
	if best == nil {
		return nil, fmt.Errorf("pull request for branch %s in %s/%s: %w", branch, owner, name, ErrNotFound)
	}
	return toPR(best), nil
}

// CreatePullRequest implements Client. Title and body are redacted.
func (g *GitHub) CreatePullRequest(ctx context.Context, repo string, pr NewPullRequest) (*PullRequest, error) {
	owner, name, err := ParseRepo(repo)
	if err != nil {
		return nil, err
	}
	req := &gh.NewPullRequest{Title: gh.String(truncateRunes(g.clean(pr.Title), 250)), Head: gh.String(pr.Head), Base: gh.String(pr.Base),
		Body: gh.String(truncateRunes(g.clean(pr.Body), maxBody)), Draft: gh.Bool(pr.Draft)}
	var out *gh.PullRequest
	for attempt := 0; ; attempt++ {
		var resp *gh.Response
		out, resp, err = g.c.PullRequests.Create(ctx, owner, name, req)
		if err == nil {
			telemetry.PullRequestsOpened.Inc()
			return toPR(out), nil
		}
		wait, ok := g.retryable(err, resp, attempt)
		if !ok || attempt >= g.cfg.MaxRetries || wait > g.cfg.MaxRetryWait {
			return nil, describe("create pull request "+pr.Head, err)
		}
		if !sleepCtx(ctx, wait) {
			return nil, fmt.Errorf("github: create pull request: %w (last error: %v)", ctx.Err(), err)
		}
		// A 5xx may have created it anyway: look before retrying so there is never a duplicate.
		if existing, ferr := g.FindPullRequest(ctx, repo, pr.Head); ferr == nil && existing.State == "open" {
			return existing, nil
		}
	}
}

// CommentIssue implements Client. The body is redacted.
func (g *GitHub) CommentIssue(ctx context.Context, repo string, number int, body string) error {
	owner, name, err := ParseRepo(repo)
	if err != nil {
		return err
	}
	return g.comment(ctx, owner, name, number, body)
}

func (g *GitHub) comment(ctx context.Context, owner, name string, number int, body string) error {
	c := &gh.IssueComment{Body: gh.String(truncateRunes(g.clean(body), maxBody))}
	return g.call(ctx, fmt.Sprintf("comment on #%d", number), func() (r *gh.Response, err error) {
		_, r, err = g.c.Issues.CreateComment(ctx, owner, name, number, c)
		return r, err
	})
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
