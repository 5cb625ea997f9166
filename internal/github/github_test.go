package github_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/github/ghsink"
	"github.com/fixloop/fixloop/internal/github/ghsink/ghsinktest"
	"github.com/fixloop/fixloop/internal/redact"
)

const repo = "acme/shop"

func newSink(t testing.TB, o ghsink.Options) (*ghsink.Server, string) {
	t.Helper()
	sink, ts := ghsinktest.Start(t, o)
	return sink, ts.URL + "/"
}

func newClient(t testing.TB, base string, mod func(*github.Config)) *github.GitHub {
	t.Helper()
	cfg := github.Config{Token: "test-token", BaseURL: base, Redactor: redact.Default(), RetryBase: 10 * time.Millisecond, MaxRetryWait: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	c, err := github.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func failure(fp string) github.IssueRequest {
	return github.IssueRequest{
		Repo: repo, Fingerprint: fp, Title: "panic: nil map write in checkout handler",
		Summary: "Canary pods panic on /checkout and return 5xx.", RootCause: "nil map write in cart.Add",
		Remediation: "Roll back; initialise the map.", Verdict: "abort", Confidence: 95,
		Evidence: []github.EvidenceRow{{Kind: "log", Signal: "panic: assignment to entry in nil map", Stable: "0", Canary: "42", Note: "new in canary"},
			{Kind: "metric", Signal: "5xx rate", Stable: "0.1%", Canary: "12% | high", Note: "critical"}},
		LogExamples: []string{"panic: assignment to entry in nil map\n\ngoroutine 1 [running]:\nmain.add()\n\t/app/cart.go:12"},
		Namespace:   "shop", Rollout: "checkout", Revision: "7c9f", OccurredAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func TestEnsureIssueOneIssuePerFingerprint(t *testing.T) {
	sink, base := newSink(t, ghsink.Options{Token: "test-token"})
	c := newClient(t, base, func(c *github.Config) { c.Labels = []string{"agent:fix"}; c.Assignees = []string{"oncall"} })
	ctx := context.Background()

	r1, err := c.EnsureIssue(ctx, failure("abc123"))
	if err != nil {
		t.Fatal(err)
	}
	if !r1.Created || r1.Number != 1 || !strings.HasSuffix(r1.URL, "/acme/shop/issues/1") || r1.Label != "fixloop:fp-abc123" {
		t.Fatalf("first EnsureIssue = %+v", r1)
	}
	second := failure("abc123")
	second.OccurredAt = second.OccurredAt.Add(time.Hour)
	second.Revision = "8d0a"
	r2, err := c.EnsureIssue(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Created || !r2.Commented || r2.Number != 1 {
		t.Fatalf("repeat EnsureIssue = %+v, want a comment on #1", r2)
	}
	// The same occurrence delivered again (a retry after a crash) adds nothing.
	r3, err := c.EnsureIssue(ctx, second)
	if err != nil || r3.Commented || r3.Created {
		t.Fatalf("redelivered occurrence = %+v, %v", r3, err)
	}
	// The occurrence that opened the issue, delivered again, adds nothing either.
	if r, err := c.EnsureIssue(ctx, failure("abc123")); err != nil || r.Commented || r.Created {
		t.Fatalf("redelivered first occurrence = %+v, %v", r, err)
	}
	// A different failure gets its own issue.
	if r, err := c.EnsureIssue(ctx, failure("def456")); err != nil || !r.Created || r.Number != 2 {
		t.Fatalf("other fingerprint = %+v, %v", r, err)
	}

	issues := sink.Issues(repo)
	if len(issues) != 2 {
		t.Fatalf("%d issues, want 2", len(issues))
	}
	is := issues[0]
	var labels []string
	for _, l := range is.Labels {
		labels = append(labels, l.Name)
	}
	if strings.Join(labels, ",") != "fixloop,fixloop:fp-abc123,agent:fix" || len(is.Assignees) != 1 || is.Assignees[0].Login != "oncall" {
		t.Errorf("labels %v assignees %+v", labels, is.Assignees)
	}
	if utf8.RuneCountInString(is.Title) >= 100 || !strings.HasPrefix(is.Title, "[fixloop] panic: nil map") {
		t.Errorf("title %q", is.Title)
	}
	for _, want := range []string{"<!-- fixloop:fingerprint=abc123 -->", "## Summary", "## Root cause", "## Evidence", "| metric | 5xx rate | 0.1% | 12% \\| high | critical |",
		"## Log examples", "```text\npanic: assignment", "## Remediation", "`shop/checkout`", "`7c9f`"} {
		if !strings.Contains(is.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, is.Body)
		}
	}
	cs := sink.Comments(repo, 1)
	if len(cs) != 1 || !strings.Contains(cs[0].Body, "2026-01-02T04:04:05Z") || !strings.Contains(cs[0].Body, "`8d0a`") || !strings.Contains(cs[0].Body, "`shop/checkout`") {
		t.Fatalf("comments = %+v", cs)
	}
	for _, rq := range sink.Requests() {
		if !rq.Auth {
			t.Errorf("%s %s sent without a token", rq.Method, rq.Path)
		}
	}

	// Closed, then it recurs: the same issue is reopened with a comment, no new issue.
	sink.CloseIssue(repo, 1)
	third := failure("abc123")
	third.OccurredAt = third.OccurredAt.Add(48 * time.Hour)
	r4, err := c.EnsureIssue(ctx, third)
	if err != nil || !r4.Reopened || !r4.Commented || r4.Number != 1 {
		t.Fatalf("recurrence after close = %+v, %v", r4, err)
	}
	if got := sink.Issues(repo); len(got) != 2 || got[0].State != "open" {
		t.Fatalf("after reopen: %+v", got)
	}
	if cs := sink.Comments(repo, 1); len(cs) != 2 || !strings.Contains(cs[1].Body, "Reopened") {
		t.Fatalf("reopen comment missing: %+v", cs)
	}
}

func TestEnsureIssueConcurrentCallsMakeOneIssue(t *testing.T) {
	sink, base := newSink(t, ghsink.Options{})
	c := newClient(t, base, nil)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := failure("race1")
			req.OccurredAt = req.OccurredAt.Add(time.Duration(i) * time.Minute)
			if _, err := c.EnsureIssue(context.Background(), req); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := len(sink.Issues(repo)); n != 1 {
		t.Fatalf("%d issues, want 1", n)
	}
	if n := len(sink.Comments(repo, 1)); n != 7 {
		t.Fatalf("%d comments, want 7", n)
	}
}

func TestSecretsNeverReachGitHub(t *testing.T) {
	sink, base := newSink(t, ghsink.Options{})
	c := newClient(t, base, nil)
	secrets := []string{
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXZhbHVl",
		"AKIAIOSFODNN7EXAMPLE",
		"hunter2hunter2",
		"ghp_0123456789abcdefghijABCDEFGHIJ012345",
		"s3cr3tP4ssw0rd",
		"alice@example.com",
	}
	req := failure("secret1")
	req.Title = "token leak Bearer " + secrets[0]
	req.Summary = "db url postgres://app:" + secrets[4] + "@db:5432/shop"
	req.LogExamples = []string{
		"level=error msg=\"auth failed\" Authorization: Bearer " + secrets[0],
		"aws key " + secrets[1] + " password=" + secrets[2],
		"push with token " + secrets[3] + " by " + secrets[5],
	}
	req.Evidence = append(req.Evidence, github.EvidenceRow{Kind: "log", Signal: "login password=" + secrets[2], Stable: "0", Canary: "3"})
	if _, err := c.EnsureIssue(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	again := req
	again.OccurredAt = again.OccurredAt.Add(time.Minute)
	again.Summary = "still leaking " + secrets[1]
	if _, err := c.EnsureIssue(context.Background(), again); err != nil {
		t.Fatal(err)
	}
	if err := c.CommentIssue(context.Background(), repo, 1, "fixer note: password="+secrets[2]); err != nil {
		t.Fatal(err)
	}
	reqs := sink.Requests()
	writes := 0
	for _, rq := range reqs {
		if rq.Body != "" {
			writes++
		}
		for _, s := range secrets {
			if strings.Contains(rq.Body, s) || strings.Contains(rq.Query, s) {
				t.Errorf("secret %q reached GitHub in %s %s: %s", s, rq.Method, rq.Path, rq.Body)
			}
		}
	}
	if writes < 3 {
		t.Fatalf("only %d requests with a body; the test did not exercise create+comment", writes)
	}
	if !strings.Contains(sink.Issues(repo)[0].Body, "[REDACTED:") {
		t.Fatal("issue body carries no redaction marks: the planted secrets were not where the test expected")
	}
}

func TestRetriesRateLimitsAndServerErrorsWithoutDuplicates(t *testing.T) {
	sink, base := newSink(t, ghsink.Options{})
	c := newClient(t, base, nil)
	ctx := context.Background()
	sink.InjectFault(ghsink.Fault{Method: "GET", Path: "/issues", Kind: "ratelimit", ResetAfter: time.Second})
	sink.InjectFault(ghsink.Fault{Method: "POST", Path: "/issues", Kind: "500", AfterWrite: true})
	sink.InjectFault(ghsink.Fault{Method: "POST", Path: "/issues", Kind: "502"})
	start := time.Now()
	r, err := c.EnsureIssue(ctx, failure("retry1"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(sink.Issues(repo)); n != 1 || r.Number != 1 {
		t.Fatalf("%d issues after a 5xx-after-write, want exactly 1 (result %+v)", n, r)
	}
	if time.Since(start) < 500*time.Millisecond {
		t.Errorf("rate limit not waited for (took %s)", time.Since(start))
	}

	// Secondary rate limit and 429 with Retry-After on the comment path.
	sink.InjectFault(ghsink.Fault{Method: "POST", Path: "/comments", Kind: "secondary", ResetAfter: time.Second})
	sink.InjectFault(ghsink.Fault{Method: "POST", Path: "/comments", Kind: "503", AfterWrite: true})
	again := failure("retry1")
	again.OccurredAt = again.OccurredAt.Add(time.Minute)
	if r, err := c.EnsureIssue(ctx, again); err != nil || !r.Commented {
		t.Fatalf("comment with faults = %+v, %v", r, err)
	}
	if n := len(sink.Comments(repo, 1)); n != 1 {
		t.Fatalf("%d comments after 503-after-write, want 1", n)
	}

	// Persistent 5xx: a clear error after the retries, nothing created.
	for range 5 {
		sink.InjectFault(ghsink.Fault{Method: "GET", Path: "/issues", Kind: "502"})
	}
	_, err = c.EnsureIssue(ctx, failure("retry2"))
	if err == nil || !strings.Contains(err.Error(), "gave up after 5 attempts") {
		t.Fatalf("persistent 502 err = %v", err)
	}

	// A rate limit resetting far beyond the wait cap fails at once with a clear message.
	short := newClient(t, base, func(c *github.Config) { c.MaxRetryWait = 100 * time.Millisecond })
	sink.InjectFault(ghsink.Fault{Method: "GET", Path: "/issues", Kind: "ratelimit", ResetAfter: time.Hour})
	start = time.Now()
	_, err = short.EnsureIssue(ctx, failure("retry3"))
	if err == nil || !strings.Contains(err.Error(), "rate limited") || time.Since(start) > 10*time.Second {
		t.Fatalf("long rate limit err = %v after %s", err, time.Since(start))
	}
	if n := len(sink.Issues(repo)); n != 1 {
		t.Fatalf("%d issues, want 1", n)
	}
}

func TestClearErrors(t *testing.T) {
	_, base := newSink(t, ghsink.Options{Token: "right"})
	c := newClient(t, base, func(c *github.Config) { c.Token = "wrong" })
	_, err := c.EnsureIssue(context.Background(), failure("x"))
	if err == nil || !strings.Contains(err.Error(), "FIXLOOP_GITHUB_TOKEN") {
		t.Fatalf("bad token err = %v", err)
	}
	if _, err := github.New(github.Config{}); err == nil {
		t.Fatal("client without redactor accepted")
	}
	if _, err := c.EnsureIssue(context.Background(), github.IssueRequest{Repo: repo}); err == nil {
		t.Fatal("issue without fingerprint accepted")
	}
	if _, err := c.EnsureIssue(context.Background(), github.IssueRequest{Repo: "nope", Fingerprint: "x"}); err == nil {
		t.Fatal("bad repo accepted")
	}
}

func TestParseRepo(t *testing.T) {
	for in, want := range map[string]string{
		"acme/shop": "acme/shop", "https://github.com/acme/shop": "acme/shop", "https://github.com/acme/shop.git": "acme/shop",
		"git@github.com:acme/shop.git": "acme/shop", "http://127.0.0.1:9/acme/shop/": "acme/shop",
	} {
		o, n, err := github.ParseRepo(in)
		if err != nil || o+"/"+n != want {
			t.Errorf("ParseRepo(%q) = %s/%s, %v", in, o, n, err)
		}
	}
}

func TestEnterpriseURLAndPullRequestHelpers(t *testing.T) {
	dir := t.TempDir()
	bare := filepath.Join(dir, "shop.git")
	work := filepath.Join(dir, "work")
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Env = append(cmd.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", "--bare", "-b", "main", bare)
	git("init", "-q", "-b", "main", work)
	git("-C", work, "commit", "-q", "--allow-empty", "-m", "init")
	git("-C", work, "checkout", "-q", "-b", "fixloop/fix-abc")
	git("-C", work, "commit", "-q", "--allow-empty", "-m", "fix")
	git("-C", work, "push", "-q", bare, "main", "fixloop/fix-abc")

	sink, err := ghsink.New(ghsink.Options{GitRepos: map[string]string{repo: bare}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sink)
	defer ts.Close()
	sink.SetBaseURL(ts.URL)
	// No trailing slash: treated as a GitHub Enterprise host, so requests go to /api/v3/.
	c := newClient(t, ts.URL, nil)
	if !strings.HasSuffix(c.BaseURL(), "/api/v3/") {
		t.Fatalf("base URL %s", c.BaseURL())
	}
	ctx := context.Background()
	b, err := c.GetBranch(ctx, repo, "fixloop/fix-abc")
	if err != nil || len(b.SHA) != 40 {
		t.Fatalf("GetBranch = %+v, %v", b, err)
	}
	if _, err := c.GetBranch(ctx, repo, "nope"); !errors.Is(err, github.ErrNotFound) {
		t.Fatalf("missing branch err = %v", err)
	}
	if _, err := c.FindPullRequest(ctx, repo, "fixloop/fix-abc"); !errors.Is(err, github.ErrNotFound) {
		t.Fatalf("FindPullRequest before create err = %v", err)
	}
	pr, err := c.CreatePullRequest(ctx, repo, github.NewPullRequest{Title: "Fix nil map", Head: "fixloop/fix-abc", Base: "main", Body: "Fixes #1. token=abcdefgh12345678"})
	if err != nil || pr.Number != 1 || pr.State != "open" {
		t.Fatalf("CreatePullRequest = %+v, %v", pr, err)
	}
	if strings.Contains(sink.Pulls(repo)[0].Body, "abcdefgh12345678") {
		t.Fatal("PR body not redacted")
	}
	found, err := c.FindPullRequest(ctx, repo, "fixloop/fix-abc")
	if err != nil || found.Number != 1 || found.Head != "fixloop/fix-abc" || found.Base != "main" {
		t.Fatalf("FindPullRequest = %+v, %v", found, err)
	}
	if _, err := c.CreatePullRequest(ctx, repo, github.NewPullRequest{Title: "x", Head: "missing", Base: "main"}); err == nil {
		t.Fatal("PR from a missing branch accepted")
	}
}

func TestTitleStaysUnder100Chars(t *testing.T) {
	sink, base := newSink(t, ghsink.Options{})
	c := newClient(t, base, nil)
	req := failure("long1")
	req.Title = strings.Repeat("très long titre ", 20)
	if _, err := c.EnsureIssue(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(sink.Issues(repo)[0].Title); n >= 100 {
		t.Fatalf("title has %d characters", n)
	}
}

func TestIssueAndOccurrenceLinkTheReport(t *testing.T) {
	sink, base := newSink(t, ghsink.Options{Token: "test-token"})
	c := newClient(t, base, nil)
	ctx := context.Background()
	req := failure("rep1")
	req.Report = "https://fixloop.example/reports/0123456789abcdef0123456789abcdef"
	if _, err := c.EnsureIssue(ctx, req); err != nil {
		t.Fatal(err)
	}
	again := failure("rep1")
	again.OccurredAt = again.OccurredAt.Add(time.Hour)
	again.Report = "/reports/fedcba9876543210fedcba9876543210" // serve without a public URL
	if _, err := c.EnsureIssue(ctx, again); err != nil {
		t.Fatal(err)
	}
	is := sink.Issues(repo)[0]
	if !strings.Contains(is.Body, "[https://fixloop.example/reports/0123456789abcdef0123456789abcdef](https://fixloop.example/reports/0123456789abcdef0123456789abcdef)") {
		t.Errorf("issue body does not link the report:\n%s", is.Body)
	}
	cs := sink.Comments(repo, is.Number)
	if len(cs) != 1 || !strings.Contains(cs[0].Body, "`/reports/fedcba9876543210fedcba9876543210`") {
		t.Errorf("occurrence comment does not name its report: %+v", cs)
	}
}
