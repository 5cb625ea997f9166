package triage

import (
	"context"
	"strings"

	"github.com/fixloop/fixloop/internal/fixstate"
	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/monitor"
	"github.com/fixloop/fixloop/internal/report"
	"github.com/fixloop/fixloop/internal/slack"
)

// afterVerdict tells people what a verdict led to: the report page learns its issue and fix, the fix's
// state is recorded for every report of the failure (and list_findings), and an abort or inconclusive
// verdict is posted to the Slack channel when one is configured.
func (t *Triage) afterVerdict(ctx context.Context, res *AnalyzeResult) {
	t.linkReport(ctx, res)
	t.recordDelegation(ctx, res)
	if !noticeWanted(ctx) {
		return // the caller tells the channel itself (the rollout watcher, after filing Argo's abort)
	}
	t.notifyVerdict(ctx, res)
}

// notifyVerdict posts an abort or inconclusive verdict.
func (t *Triage) notifyVerdict(ctx context.Context, res *AnalyzeResult) {
	if len(res.Untrusted) > 0 {
		return // a verdict shaped by a caller's own patterns is the caller's answer, not the channel's news
	}
	switch res.Verdict {
	case VerdictAbort, VerdictInconclusive:
		t.notify(ctx, verdictNotice(res))
	}
}

func verdictNotice(res *AnalyzeResult) slack.Notice {
	kind := slack.NoticeInconclusive
	if res.Verdict == VerdictAbort {
		kind = slack.NoticeAbort
	}
	no := slack.Notice{Kind: kind, Namespace: res.Namespace, Target: res.Rollout, Verdict: res.Verdict, Confidence: res.Confidence,
		Summary: res.Analysis, RootCause: res.RootCause, Fingerprint: res.Fingerprint, Report: res.Report, PR: res.PRLink}
	if res.Issue != nil {
		no.Issue = res.Issue.URL
	}
	if h := res.Handoff; h != nil {
		no.Fixer, no.Handoff, no.Flagged = h.Fixer, h.State, h.Flagged
	} else if res.FixerTaskID != "" {
		no.Fixer, no.Handoff = "opencode", fixstate.Working
	}
	return no
}

// argoAbortFiled tells people about a rollout Argo aborted on its own analysis, now that fixloop filed
// its issue: the abort is the news whatever fixloop's own comparison said.
func (t *Triage) argoAbortFiled(ctx context.Context, res *AnalyzeResult, analysis string) {
	t.linkReport(ctx, res)
	t.recordDelegation(ctx, res)
	no := verdictNotice(res)
	no.Kind, no.Verdict, no.Confidence, no.Summary = slack.NoticeAbort, VerdictAbort, 100, analysis
	t.notify(ctx, no)
}

// linkReport adds the issue and the fix to the verdict's page.
func (t *Triage) linkReport(ctx context.Context, res *AnalyzeResult) {
	if res.Report == "" || res.Issue == nil && res.PRLink == "" {
		return
	}
	l := report.Links{Fix: res.PRLink}
	if res.Issue != nil {
		l.Issue = res.Issue.URL
	}
	if err := t.cfg.Tools.Reports.Link(ctx, res.Report, l); err != nil {
		t.log.Warn("report not linked to its issue", "report", res.Report, "err", err)
	}
}

// recordDelegation keeps the state of a fix handed to fixloop's own fixer (a coding agent's is kept by
// the hand-off, see handoffChanged).
func (t *Triage) recordDelegation(ctx context.Context, res *AnalyzeResult) {
	if res.FixerTaskID == "" && res.PRLink == "" || res.Handoff != nil || res.Fingerprint == "" {
		return
	}
	f := report.Fix{Fingerprint: res.Fingerprint, Fixer: "opencode", State: fixstate.Working, PR: res.PRLink, Namespace: res.Namespace, Rollout: res.Rollout,
		UpdatedAt: t.cfg.Now().UTC()}
	if res.Issue != nil {
		f.Issue = res.Issue.URL
	}
	if res.PRLink != "" {
		f.State = github.HandoffPROpen
	}
	if err := report.SaveFix(ctx, t.cfg.Store, f); err != nil {
		t.log.Warn("fix state not recorded", "fingerprint", res.Fingerprint, "err", err)
	}
}

// handoffChanged records a coding agent's hand-off state for the report page and list_findings and
// posts the change (a pull request, a merge, a flag) to Slack.
func (t *Triage) handoffChanged(ctx context.Context, rec *handoffRecord) {
	s := rec.status(false)
	f := report.Fix{Fingerprint: rec.Fingerprint, Fixer: s.Fixer, State: s.State, Issue: rec.IssueURL, PR: s.PRURL, Flagged: rec.Flagged,
		Namespace: rec.Namespace, Rollout: rec.Rollout, UpdatedAt: t.cfg.Now().UTC()}
	if len(s.PRProblems) > 0 {
		f.PR = "" // not a PR the checks accept: not claimed
	}
	if err := report.SaveFix(ctx, t.cfg.Store, f); err != nil {
		t.log.Warn("hand-off state not recorded", "fingerprint", rec.Fingerprint, "err", err)
	}
	if inAnalysis(ctx) {
		return // the verdict's own notice carries the hand-off's state
	}
	kind := slack.NoticeHandoff
	if f.PR != "" && f.State == github.HandoffPROpen {
		kind = slack.NoticePullRequest
	}
	t.notify(ctx, slack.Notice{Kind: kind, Namespace: rec.Namespace, Target: rec.Rollout, Fingerprint: rec.Fingerprint, Issue: rec.IssueURL,
		PR: f.PR, Fixer: f.Fixer, Handoff: f.State, Flagged: f.Flagged, Summary: rec.Obs.LastComment})
}

// notifyFinding posts a monitor incident the monitor acted on, with its issue (or why there is none).
func (t *Triage) notifyFinding(ctx context.Context, inc monitor.Incident, issueURL string, issueErr error) {
	var b strings.Builder
	for i, f := range inc.Findings {
		if i == 5 {
			break
		}
		b.WriteString("• " + f.Check + " " + f.Severity + ": " + f.Value)
		if f.Threshold != "" {
			b.WriteString(" (threshold " + f.Threshold + ")")
		}
		b.WriteString("\n")
	}
	if issueErr != nil {
		b.WriteString("No issue filed: " + issueErr.Error())
	}
	t.notify(ctx, slack.Notice{Kind: slack.NoticeFinding, Namespace: inc.Target.Namespace, Target: inc.Target.Workload(), Fingerprint: inc.Fingerprint,
		Summary: strings.TrimSpace(b.String()), RootCause: inc.Observation.Summary, Issue: issueURL})
}

func (t *Triage) notify(ctx context.Context, no slack.Notice) {
	if !t.cfg.Notifier.Enabled() {
		return
	}
	// Posting must not hold up Argo or the monitor: Slack is told in the background (bounded by Notify).
	t.notices.Add(1)
	go func() {
		defer t.notices.Done()
		_ = t.cfg.Notifier.Notify(context.WithoutCancel(ctx), no)
	}()
}

type analysisKey struct{}

// withinAnalysis marks hand-off follow-ups made while an analysis runs: its verdict notice reports them.
func withinAnalysis(ctx context.Context) context.Context {
	return context.WithValue(ctx, analysisKey{}, true)
}

func inAnalysis(ctx context.Context) bool { v, _ := ctx.Value(analysisKey{}).(bool); return v }

type noNoticeKey struct{}

func withoutNotice(ctx context.Context) context.Context {
	return context.WithValue(ctx, noNoticeKey{}, true)
}

func noticeWanted(ctx context.Context) bool {
	quiet, _ := ctx.Value(noNoticeKey{}).(bool)
	return !quiet
}
