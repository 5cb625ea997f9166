// Package triage is fixloop's triage agent: analyze_canary (judge an Argo Rollouts canary against its
// stable pods, file the GitHub issue on abort and hand the fix to the fixer agent) and
// investigate_service (health of a workload over a window with findings and a fix plan). It composes the
// tools' Go functions and internal/judge in-process; the A2A executor, the Argo plugin route and the web
// metric provider all call the same methods.
package triage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/llm"
	"github.com/fixloop/fixloop/internal/slack"
	"github.com/fixloop/fixloop/internal/store"
	"github.com/fixloop/fixloop/tools"
)

// Config wires the triage agent.
type Config struct {
	Tools  tools.Deps
	GitHub github.Client // nil: no issues are filed (the verdict says so)
	Store  store.Store   // required: issue records and the verdict cache
	// FixerURL is the fixer agent's A2A base URL (e.g. http://127.0.0.1:8080/agents/fixer); empty: no
	// delegation.
	FixerURL   string
	FixerToken string // bearer token for the fixer, when it requires one
	// DefaultRepo / DefaultBaseBranch apply when a request names no repository.
	DefaultRepo       string
	DefaultBaseBranch string
	// LogWindow is the window of logs and metrics compared (default 10m, compare_canary's).
	LogWindow time.Duration
	// AnalysisTimeout bounds one canary analysis (default 4m: inside the Argo plugin's 5-minute timeout).
	AnalysisTimeout time.Duration
	// ClaimLease is the lease of every claim this agent takes in the store (issue filing, hand-off,
	// delegation, the running analysis of a verdict): a live holder renews it every third of it, so
	// it bounds how long a crashed or partitioned replica's work holds the others back (default 15s).
	ClaimLease time.Duration
	HTTPClient *http.Client
	// LLM, when set, reads free-text requests the rules cannot (see completeWithLLM); nil: rules only.
	LLM llm.Provider
	// ReadOnly (--read-only): never file issues nor delegate fixes, whoever asks.
	ReadOnly bool
	// Handoff hands fixes to a coding agent on GitHub instead of FixerURL's (see HandoffConfig).
	Handoff HandoffConfig
	// Audit records issue filing and fixer delegation (nil: not recorded).
	Audit *auth.Audit
	// Notifier posts aborts, inconclusive verdicts, monitor actions and fix progress to Slack (nil: off).
	Notifier *slack.Notifier
	Logger   *slog.Logger
	Now      func() time.Time
}

// Triage is the agent.
type Triage struct {
	cfg Config
	log *slog.Logger
	// notices are Slack posts in flight (tests wait for them).
	notices sync.WaitGroup
	// analyze runs a cached (web provider) analysis: AnalyzeCanary; tests of the cache's claims on a
	// store without a cluster replace it.
	analyze func(ctx context.Context, in AnalyzeInput, opID string) (*AnalyzeResult, error)
}

// New validates cfg and returns the agent.
func New(cfg Config) (*Triage, error) {
	if cfg.Store == nil {
		return nil, errors.New("triage: a store is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Tools.Logger == nil {
		cfg.Tools.Logger = cfg.Logger
	}
	if cfg.LogWindow <= 0 {
		cfg.LogWindow = 10 * time.Minute
	}
	if cfg.AnalysisTimeout <= 0 {
		cfg.AnalysisTimeout = 4 * time.Minute
	}
	if cfg.ClaimLease <= 0 {
		cfg.ClaimLease = defaultClaimLease
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Minute}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DefaultBaseBranch == "" {
		cfg.DefaultBaseBranch = "main"
	}
	t := &Triage{cfg: cfg, log: cfg.Logger}
	t.analyze = func(ctx context.Context, in AnalyzeInput, opID string) (*AnalyzeResult, error) {
		return t.AnalyzeCanary(ctx, in, opID, nil)
	}
	return t, nil
}

// Verdict values (the judge's).
const (
	VerdictPromote      = judge.Promote
	VerdictAbort        = judge.Abort
	VerdictInconclusive = judge.Inconclusive
)

// AnalyzeInput is the analyze_canary skill input.
type AnalyzeInput struct {
	Namespace      string   `json:"namespace"`
	Rollout        string   `json:"rollout"`
	StableSelector string   `json:"stableSelector,omitempty"` // used when the rollout has no canary in flight or is not readable
	CanarySelector string   `json:"canarySelector,omitempty"`
	ExtraPrompt    string   `json:"extraPrompt,omitempty"`
	Ignore         []string `json:"ignore,omitempty"` // regular expressions: matching log records are dropped
	Mask           []string `json:"mask,omitempty"`   // regular expressions: matched text is masked (a value that changes on purpose)
	RepoURL        string   `json:"repoUrl,omitempty"`
	BaseBranch     string   `json:"baseBranch,omitempty"`
	// NoIssue skips GitHub and the fixer (dry run).
	NoIssue bool `json:"noIssue,omitempty"`

	// run is what the asking AnalysisRun's template says (set by the Argo routes, never from JSON).
	run analysisInputs
}

// AnalyzeResult is the analyze_canary output: the verdict plus what was analysed and what was done.
type AnalyzeResult struct {
	tools.JudgeVerdict                     // the verdict itself, flattened
	Namespace          string              `json:"namespace"`
	Rollout            string              `json:"rollout"`
	StableHash         string              `json:"stableHash,omitempty"`
	CanaryHash         string              `json:"canaryHash,omitempty"`
	StablePods         int                 `json:"stablePods"`
	CanaryPods         int                 `json:"canaryPods"`
	Issue              *github.IssueResult `json:"issue,omitempty"`
	IssueError         string              `json:"issueError,omitempty"`
	FixerTaskID        string              `json:"fixerTaskId,omitempty"`
	FixerState         string              `json:"fixerState,omitempty"`
	PRLink             string              `json:"prLink,omitempty"`
	FixerError         string              `json:"fixerError,omitempty"`
	Handoff            *HandoffStatus      `json:"handoff,omitempty"` // a coding agent on GitHub was handed the fix
	Notes              []string            `json:"notes,omitempty"`
	// Untrusted lists what the request asked for beyond the configured settings; a verdict that used
	// request-supplied patterns files no issue and is never cached for Argo's polls.
	Untrusted  []string  `json:"untrusted,omitempty"`
	Report     string    `json:"report,omitempty"` // URL of the verdict's page
	AnalyzedAt time.Time `json:"analyzedAt"`
	DurationMS int64     `json:"durationMs"`
}

// Summary is a one-paragraph text for A2A text parts and logs.
func (r *AnalyzeResult) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s canary %s: %s (promote=%v, confidence %d). %s", r.Namespace, r.Rollout, orDash(r.CanaryHash), r.Verdict, r.Promote, r.Confidence, r.Analysis)
	if r.Issue != nil {
		fmt.Fprintf(&b, " Issue: %s.", r.Issue.URL)
	}
	if r.Report != "" {
		fmt.Fprintf(&b, " Report: %s.", r.Report)
	}
	if r.PRLink != "" {
		fmt.Fprintf(&b, " PR: %s.", r.PRLink)
	} else if h := r.Handoff; h != nil {
		fmt.Fprintf(&b, " Handed to %s: %s%s.", h.Fixer, h.State, map[bool]string{true: " (flagged: no pull request in time)"}[h.Flagged])
	} else if r.FixerTaskID != "" {
		fmt.Fprintf(&b, " Fixer task: %s (%s).", r.FixerTaskID, r.FixerState)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Progress receives human-readable progress lines (streamed as A2A status updates).
type Progress func(string)

func nop(string) {}

// AnalyzeCanary judges the canary. opID identifies this analysis occurrence (the A2A task id, or a
// request id): re-running the same opID after a crash adds no second issue comment.
func (t *Triage) AnalyzeCanary(ctx context.Context, in AnalyzeInput, opID string, progress Progress) (*AnalyzeResult, error) {
	if progress == nil {
		progress = nop
	}
	if strings.TrimSpace(in.Namespace) == "" {
		return nil, errors.New("analyze_canary: namespace is required")
	}
	if strings.TrimSpace(in.Rollout) == "" && (in.StableSelector == "" || in.CanarySelector == "") {
		return nil, errors.New("analyze_canary: rollout is required (or both stableSelector and canarySelector)")
	}
	ctx, cancel := context.WithTimeout(ctx, t.cfg.AnalysisTimeout)
	defer cancel()
	start := t.cfg.Now()
	res := &AnalyzeResult{Namespace: in.Namespace, Rollout: in.Rollout, AnalyzedAt: start.UTC()}
	trusted, extras := t.inputs(ctx, in)
	if err := judge.CheckPatterns(extras.Ignore, extras.Mask); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	t.noteUntrusted(res, extras)
	if len(extras.Ignore)+len(extras.Mask) > 0 {
		in.NoIssue = true // a caller's patterns may hide a failure: verdict only
	}

	progress("collecting logs and metrics of stable and canary pods")
	cin := tools.CompareCanaryInput{Namespace: in.Namespace, Rollout: in.Rollout, SinceSeconds: int64(t.cfg.LogWindow.Seconds()),
		Ignore: appendNew(slices.Clone(trusted.Ignore), extras.Ignore...), Mask: appendNew(slices.Clone(trusted.Mask), extras.Mask...),
		ExtraPrompt: trusted.ExtraPrompt}
	if in.Rollout == "" { // the rollout's revisions are more precise than any label (the plugin sends role=… defaults)
		cin.StableSelector, cin.CanarySelector = in.StableSelector, in.CanarySelector
	}
	out, err := tools.CompareCanary(ctx, t.cfg.Tools, cin)
	if err != nil {
		// Missing data is inconclusive, never an error that could read as a pass.
		res.JudgeVerdict = inconclusive(fmt.Sprintf("could not analyse the canary: %v", err))
		res.DurationMS = time.Since(start).Milliseconds()
		return res, nil
	}
	res.JudgeVerdict, res.Notes = out.JudgeVerdict, append(res.Notes, out.Notes...)
	res.StableHash, res.CanaryHash, res.StablePods, res.CanaryPods = out.StableHash, out.CanaryHash, len(out.StablePods), len(out.CanaryPods)
	res.Report = out.Report
	progress(fmt.Sprintf("judged %d stable and %d canary pods (%d/%d log records)", res.StablePods, res.CanaryPods, res.JudgeVerdict.Summary.StableRecords, res.JudgeVerdict.Summary.CanaryRecords))
	normalise(&res.JudgeVerdict)
	progress(fmt.Sprintf("verdict: %s (confidence %d)", res.Verdict, res.Confidence))

	if res.Verdict == VerdictAbort && !in.NoIssue {
		t.act(ctx, in, trusted, opID, res, progress)
	}
	t.afterVerdict(ctx, res)
	res.DurationMS = time.Since(start).Milliseconds()
	return res, nil
}

var (
	reIgnoreLine = regexp.MustCompile(`(?im)^\s*ignore:\s*(.+?)\s*$`)
	reMaskLine   = regexp.MustCompile(`(?im)^\s*mask:\s*(.+?)\s*$`)
)

// IgnoresFromPrompt reads "ignore: <regex>" lines from an extra prompt: the AI metric plugin can only pass
// extraPrompt, so this is how its users drop events that are expected to differ (e.g. "ignore: legacy endpoint").
func IgnoresFromPrompt(p string) []string { return patternLines(reIgnoreLine, p) }

// MasksFromPrompt reads "mask: <regex>" lines: values that change on purpose (e.g. "mask: color=\w+").
func MasksFromPrompt(p string) []string { return patternLines(reMaskLine, p) }

func patternLines(re *regexp.Regexp, p string) []string {
	var out []string
	for _, m := range re.FindAllStringSubmatch(p, -1) {
		if _, err := regexp.Compile(m[1]); err == nil {
			out = append(out, m[1])
		}
	}
	return out
}

func inconclusive(why string) judge.Verdict {
	return judge.Verdict{Verdict: VerdictInconclusive, Promote: false, Confidence: 10,
		Analysis:    "Inconclusive: " + why + ". Not promoting without evidence.",
		Remediation: "Check that the rollout's canary and stable pods are running and that logs and Prometheus metrics are reachable, then re-run the analysis."}
}

// normalise enforces the invariants the Argo entry points rely on.
func normalise(v *judge.Verdict) {
	switch v.Verdict {
	case VerdictPromote, VerdictAbort, VerdictInconclusive:
	default:
		if v.Promote {
			v.Verdict = VerdictPromote
		} else {
			v.Verdict = VerdictInconclusive
		}
	}
	v.Promote = v.Verdict == VerdictPromote
	if v.Confidence < 0 {
		v.Confidence = 0
	}
	if v.Confidence > 100 {
		v.Confidence = 100
	}
	if v.Verdict == VerdictInconclusive && v.Confidence > 40 {
		v.Confidence = 40 // "not sure" must never pass a confidence gate
	}
}

// act files the issue and delegates the fix, each only when the caller holds the scope for it (issue,
// fix) and the server is not read-only: an unauthenticated AI metric plugin call gets the verdict alone.
func (t *Triage) act(ctx context.Context, in AnalyzeInput, trusted analysisInputs, opID string, res *AnalyzeResult, progress Progress) {
	if t.cfg.ReadOnly {
		res.Notes = append(res.Notes, "read-only server: no issue filed, no fix started")
		return
	}
	if !auth.Allowed(ctx, auth.ScopeIssue) {
		res.Notes = append(res.Notes, "the caller lacks scope issue: verdict only, no issue filed")
		return
	}
	repo := trusted.RepoURL
	if repo == "" {
		res.Notes = append(res.Notes, "no repository configured (repoUrl): no issue filed")
		return
	}
	if t.cfg.GitHub == nil {
		res.Notes = append(res.Notes, "no GitHub token configured: no issue filed")
		return
	}
	fp := res.Fingerprint // the judge's: the same failure files under it from every entry point
	if fp == "" {
		fp = judge.Fingerprint(in.Namespace, in.Rollout, res.Evidence)
		res.Fingerprint = fp
	}
	progress("filing the GitHub issue for fingerprint " + fp)
	req := issueRequest(repo, fp, opID, in, res, t.cfg.Now())
	issue, err := t.fileIssue(ctx, repo, fp, req)
	t.audit(ctx, "open_issue", repo+" "+fp, res, issue, err)
	if err != nil {
		res.IssueError = err.Error()
		t.log.Warn("could not file the GitHub issue", "rollout", in.Rollout, "err", err)
		return
	}
	res.Issue = issue
	t.startFix(ctx, repo, firstNonEmpty(trusted.BaseBranch, t.cfg.DefaultBaseBranch), fp, opID, in, res, progress)
}

// startFix hands a filed failure to whoever fixes it: the configured coding agent, nobody (fixer
// none), or fixloop's fixer for a caller holding scope fix. Every path that files an issue goes here,
// so the fixer choice and the caller's scopes hold for Argo-aborted rollouts too.
func (t *Triage) startFix(ctx context.Context, repo, base, fp, opID string, in AnalyzeInput, res *AnalyzeResult, progress Progress) {
	if t.handOff(ctx, repo, base, fp, in, res, progress) {
		return
	}
	if t.cfg.FixerURL == "" {
		return
	}
	if !auth.Allowed(ctx, auth.ScopeFix) {
		res.Notes = append(res.Notes, "the caller lacks scope fix: no fix started")
		return
	}
	progress("delegating the fix to the fixer agent")
	t.delegate(ctx, repo, base, fp, opID, in, res)
	var ferr error
	if res.FixerError != "" {
		ferr = errors.New(res.FixerError)
	}
	t.audit(ctx, "fixer_delegation", repo+" "+fp, res, nil, ferr)
}

// audit records one write with the verdict that caused it.
func (t *Triage) audit(ctx context.Context, action, target string, res *AnalyzeResult, issue *github.IssueResult, err error) {
	ev := auth.AuditEvent{Action: action, Target: target, Verdict: fmt.Sprintf("%s %d %s/%s", res.Verdict, res.Confidence, res.Namespace, res.Rollout), Result: "ok"}
	if issue != nil {
		ev.Detail = issue.URL
	}
	if res.FixerTaskID != "" && action == "fixer_delegation" {
		ev.Detail = "task " + res.FixerTaskID
	}
	if err != nil {
		ev.Result, ev.Detail = "error", err.Error()
	}
	t.cfg.Audit.Record(ctx, ev)
}

// fileIssue finds or opens the fingerprint's issue and records it, holding the fingerprint's claim: two
// replicas filing the same failure at once would otherwise both find no issue and both open one.
func (t *Triage) fileIssue(ctx context.Context, repo, fp string, req github.IssueRequest) (*github.IssueResult, error) {
	var issue *github.IssueResult
	err := t.holding(ctx, "issue|"+fp, func(ctx context.Context) error {
		var err error
		if issue, err = t.cfg.GitHub.EnsureIssue(ctx, req); err == nil {
			t.recordIssue(ctx, repo, fp, issue)
		}
		return err
	})
	return issue, err
}

func (t *Triage) recordIssue(ctx context.Context, repo, fp string, is *github.IssueResult) {
	now := t.cfg.Now().UTC()
	rec := store.IssueRecord{Fingerprint: fp, Repo: is.Repo, Number: is.Number, URL: is.URL, State: "open", Occurrences: 1, FirstSeen: now, LastSeen: now}
	if old, err := t.cfg.Store.GetIssue(ctx, fp); err == nil {
		rec.FirstSeen = old.FirstSeen
		rec.Occurrences = old.Occurrences
		if is.Commented || is.Created {
			rec.Occurrences++
		}
	}
	if err := t.cfg.Store.PutIssue(ctx, rec); err != nil {
		t.log.Warn("could not record issue", "fingerprint", fp, "err", err)
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
