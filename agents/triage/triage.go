// Package triage is fixloop's triage agent: analyze_canary (judge an Argo Rollouts canary against its
// stable pods, file the GitHub issue on abort and hand the fix to the fixer agent) and
// investigate_service (health of a workload over a window with findings and a fix plan). It composes the
// tools' Go functions and internal/judge in-process; the A2A executor, the Argo plugin route and the web
// metric provider all call the same methods.
package triage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/llm"
	"github.com/fixloop/fixloop/internal/logmine"
	"github.com/fixloop/fixloop/internal/store"
	"github.com/fixloop/fixloop/tools"
)

// Config wires the triage agent.
type Config struct {
	Tools  tools.Deps
	GitHub github.Client // nil: no issues are filed (the verdict says so)
	Store  store.Store   // required: issue records and the verdict cache
	// Judge decides; nil uses internal/judge deterministically with Tools.Redactor.
	Judge JudgeFunc
	// FixerURL is the fixer agent's A2A base URL (e.g. http://127.0.0.1:8080/agents/fixer); empty: no
	// delegation.
	FixerURL   string
	FixerToken string // bearer token for the fixer, when it requires one
	// DefaultRepo / DefaultBaseBranch apply when a request names no repository.
	DefaultRepo       string
	DefaultBaseBranch string
	// LogWindow bounds the logs read per pod (default 15m); MetricWindow the Prometheus window (default 5m,
	// sampled every 5 s: a young canary still yields enough samples).
	LogWindow    time.Duration
	MetricWindow string
	// AnalysisTimeout bounds one canary analysis (default 4m: inside the Argo plugin's 5-minute timeout).
	AnalysisTimeout time.Duration
	HTTPClient      *http.Client
	// LLM, when set, reads free-text requests the rules cannot (see completeWithLLM); nil: rules only.
	LLM    llm.Provider
	Logger *slog.Logger
	Now    func() time.Time
}

// Triage is the agent.
type Triage struct {
	cfg Config
	log *slog.Logger
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
		cfg.LogWindow = 15 * time.Minute
	}
	if cfg.MetricWindow == "" {
		cfg.MetricWindow = "5m"
	}
	if cfg.AnalysisTimeout <= 0 {
		cfg.AnalysisTimeout = 4 * time.Minute
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
	if cfg.Judge == nil {
		cfg.Judge = defaultJudge(cfg)
	}
	return &Triage{cfg: cfg, log: cfg.Logger}, nil
}

// Verdict values.
const (
	VerdictPromote      = "promote"
	VerdictAbort        = "abort"
	VerdictInconclusive = "inconclusive"
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
}

// Evidence is one judge finding (kept as JSON so the judge can grow fields without breaking callers).
type Evidence = map[string]any

// Verdict is the judge's decision, in the judge's JSON shape.
type Verdict struct {
	Verdict     string     `json:"verdict"`
	Promote     bool       `json:"promote"`
	Confidence  int        `json:"confidence"`
	Analysis    string     `json:"analysis"`
	RootCause   string     `json:"rootCause"`
	Remediation string     `json:"remediation"`
	Evidence    []Evidence `json:"evidence"`
	Fingerprint string     `json:"fingerprint,omitempty"`
}

// AnalyzeResult is the analyze_canary output: the verdict plus what was analysed and what was done.
type AnalyzeResult struct {
	Verdict
	Namespace   string              `json:"namespace"`
	Rollout     string              `json:"rollout"`
	StableHash  string              `json:"stableHash,omitempty"`
	CanaryHash  string              `json:"canaryHash,omitempty"`
	StablePods  int                 `json:"stablePods"`
	CanaryPods  int                 `json:"canaryPods"`
	Issue       *github.IssueResult `json:"issue,omitempty"`
	IssueError  string              `json:"issueError,omitempty"`
	FixerTaskID string              `json:"fixerTaskId,omitempty"`
	FixerState  string              `json:"fixerState,omitempty"`
	PRLink      string              `json:"prLink,omitempty"`
	FixerError  string              `json:"fixerError,omitempty"`
	Notes       []string            `json:"notes,omitempty"`
	AnalyzedAt  time.Time           `json:"analyzedAt"`
	DurationMS  int64               `json:"durationMs"`
}

// Summary is a one-paragraph text for A2A text parts and logs.
func (r *AnalyzeResult) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s canary %s: %s (promote=%v, confidence %d). %s", r.Namespace, r.Rollout, orDash(r.CanaryHash), r.Verdict.Verdict, r.Promote, r.Confidence, r.Analysis)
	if r.Issue != nil {
		fmt.Fprintf(&b, " Issue: %s.", r.Issue.URL)
	}
	if r.PRLink != "" {
		fmt.Fprintf(&b, " PR: %s.", r.PRLink)
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
	in.Ignore = append(in.Ignore, IgnoresFromPrompt(in.ExtraPrompt)...)
	in.Mask = append(in.Mask, MasksFromPrompt(in.ExtraPrompt)...)
	ctx, cancel := context.WithTimeout(ctx, t.cfg.AnalysisTimeout)
	defer cancel()
	start := t.cfg.Now()
	res := &AnalyzeResult{Namespace: in.Namespace, Rollout: in.Rollout, AnalyzedAt: start.UTC()}

	progress("collecting logs and metrics of stable and canary pods")
	ev, err := t.collect(ctx, in, res)
	if err != nil {
		// Missing data is inconclusive, never an error that could read as a pass.
		res.Verdict = inconclusive(fmt.Sprintf("could not collect canary evidence: %v", err))
		res.DurationMS = time.Since(start).Milliseconds()
		return res, nil
	}
	progress(fmt.Sprintf("judging %d stable and %d canary pods (%d/%d log records)", res.StablePods, res.CanaryPods, len(ev.StableLogs), len(ev.CanaryLogs)))
	v, err := t.cfg.Judge(ctx, ev)
	if err != nil {
		v = &Verdict{}
		*v = inconclusive(fmt.Sprintf("the judge failed: %v", err))
	}
	res.Verdict = *v
	normalise(&res.Verdict)
	progress(fmt.Sprintf("verdict: %s (confidence %d)", res.Verdict.Verdict, res.Confidence))

	if res.Verdict.Verdict == VerdictAbort && !in.NoIssue {
		t.act(ctx, in, opID, ev, res, progress)
	}
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

func inconclusive(why string) Verdict {
	return Verdict{Verdict: VerdictInconclusive, Promote: false, Confidence: 10,
		Analysis:    "Inconclusive: " + why + ". Not promoting without evidence.",
		Remediation: "Check that the rollout's canary and stable pods are running and that logs and Prometheus metrics are reachable, then re-run the analysis."}
}

// normalise enforces the invariants the Argo entry points rely on.
func normalise(v *Verdict) {
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

// act files the issue and delegates the fix.
func (t *Triage) act(ctx context.Context, in AnalyzeInput, opID string, ev *CanaryEvidence, res *AnalyzeResult, progress Progress) {
	repo := firstNonEmpty(in.RepoURL, t.cfg.DefaultRepo)
	if repo == "" {
		res.Notes = append(res.Notes, "no repository configured (repoUrl): no issue filed")
		return
	}
	if t.cfg.GitHub == nil {
		res.Notes = append(res.Notes, "no GitHub token configured: no issue filed")
		return
	}
	fp := issueFingerprint(res.Verdict, in.Namespace, in.Rollout)
	if fp == "" {
		fp = fallbackFingerprint(res)
	}
	res.Fingerprint = fp // the fingerprint the issue is filed under
	progress("filing the GitHub issue for fingerprint " + fp)
	req := issueRequest(repo, fp, opID, in, ev, res, t.cfg.Now())
	issue, err := t.cfg.GitHub.EnsureIssue(ctx, req)
	if err != nil {
		res.IssueError = err.Error()
		t.log.Warn("could not file the GitHub issue", "rollout", in.Rollout, "err", err)
		return
	}
	res.Issue = issue
	t.recordIssue(ctx, repo, fp, issue)
	if t.cfg.FixerURL == "" {
		return
	}
	progress("delegating the fix to the fixer agent")
	t.delegate(ctx, repo, firstNonEmpty(in.BaseBranch, t.cfg.DefaultBaseBranch), fp, opID, in, res)
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

func fallbackFingerprint(r *AnalyzeResult) string {
	sum := sha256.Sum256([]byte(r.Namespace + "/" + r.Rollout + "|" + r.RootCause))
	return hex.EncodeToString(sum[:6])
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func issueRequest(repo, fp, opID string, in AnalyzeInput, ev *CanaryEvidence, res *AnalyzeResult, now time.Time) github.IssueRequest {
	title := firstLine(res.RootCause)
	if title == "" {
		title = "canary " + res.Verdict.Verdict
	}
	req := github.IssueRequest{
		Repo: repo, Fingerprint: fp, Title: title, Summary: res.Analysis, RootCause: res.RootCause, Remediation: res.Remediation,
		Verdict: res.Verdict.Verdict, Confidence: res.Confidence, Namespace: in.Namespace, Rollout: in.Rollout,
		Revision: res.CanaryHash, StableRevision: res.StableHash, OccurredAt: now.UTC(),
	}
	if opID != "" {
		sum := sha256.Sum256([]byte(opID))
		req.OccurrenceID = hex.EncodeToString(sum[:8])
	}
	for _, e := range res.Evidence {
		req.Evidence = append(req.Evidence, evidenceRow(e))
		if len(req.Evidence) == 12 {
			break
		}
	}
	req.LogExamples = logExamples(res.Evidence, 3)
	if len(req.LogExamples) == 0 && ev != nil {
		for _, r := range ev.CanaryLogs {
			if logmine.IsSevere(r) && len(req.LogExamples) < 3 {
				req.LogExamples = append(req.LogExamples, r.Text)
			}
		}
	}
	return req
}

// evidenceRow maps a judge evidence object onto the issue table, tolerating the judge's field names.
func evidenceRow(e Evidence) github.EvidenceRow {
	get := func(keys ...string) string {
		for _, k := range keys {
			if v, ok := e[k]; ok && v != nil {
				switch x := v.(type) {
				case string:
					if x != "" {
						return x
					}
				case float64:
					return trimFloat(x)
				case bool:
					return fmt.Sprint(x)
				case map[string]any:
					return sideText(x)
				default:
					b, _ := json.Marshal(x)
					return string(b)
				}
			}
		}
		return ""
	}
	return github.EvidenceRow{
		Kind:   get("kind", "type", "source"),
		Signal: get("signal", "template", "pattern", "metric", "name"),
		Stable: get("stable", "stableCount", "stableRate", "stableValue"),
		Canary: get("canary", "canaryCount", "canaryRate", "canaryValue"),
		Note:   get("detail", "note", "reason", "message", "severity"),
	}
}

// sideText renders one side of a judge finding: counts with their rate, or metric samples.
func sideText(m map[string]any) string {
	num := func(k string) (float64, bool) { f, ok := m[k].(float64); return f, ok }
	var parts []string
	if c, ok := num("count"); ok {
		s := trimFloat(c)
		if r, ok := num("ratePer1000"); ok {
			s += fmt.Sprintf(" (%s/1000)", trimFloat(r))
		}
		parts = append(parts, s)
	}
	if md, ok := num("median"); ok {
		parts = append(parts, "median "+trimFloat(md))
	}
	if p95, ok := num("p95"); ok {
		parts = append(parts, "p95 "+trimFloat(p95))
	}
	if n, ok := num("samples"); ok {
		parts = append(parts, fmt.Sprintf("n=%s", trimFloat(n)))
	}
	if l, ok := m["level"].(string); ok && l != "" && l != "info" {
		parts = append(parts, l)
	}
	return strings.Join(parts, ", ")
}

// logExamples picks examples from the most severe findings first (a panic trace says more than an
// access-log line), one per finding, up to n.
func logExamples(evidence []Evidence, n int) []string {
	rank := func(e Evidence) int {
		side, _ := e["canary"].(map[string]any)
		switch lvl, _ := side["level"].(string); lvl {
		case "panic", "fatal":
			return 0
		case "error":
			return 1
		}
		return 2
	}
	var out []string
	for r := 0; r <= 2 && len(out) < n; r++ {
		for _, e := range evidence {
			if rank(e) != r || len(out) >= n {
				continue
			}
			if ex := stringsOf(e["examples"]); len(ex) > 0 {
				out = append(out, ex[0])
			}
		}
	}
	return out
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.4g", f)
	return s
}

func stringsOf(v any) []string {
	arr, _ := v.([]any)
	var out []string
	for _, x := range arr {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
