package fixer

import (
	"context"
	"time"

	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/report"
	"github.com/fixloop/fixloop/internal/slack"
)

// prOpened records the pull request as the failure's fix state (the report page and list_findings
// read it) and posts it to Slack when a channel is configured.
func (f *Fixer) prOpened(ctx context.Context, req Request, pr *github.PullRequest) {
	if req.Fingerprint == "" {
		return
	}
	fix, err := report.LoadFix(ctx, f.cfg.Store, req.Fingerprint)
	if err != nil || fix == nil {
		fix = &report.Fix{Fingerprint: req.Fingerprint}
	}
	fix.Fixer, fix.State, fix.PR, fix.Flagged, fix.UpdatedAt = "opencode", github.HandoffPROpen, pr.URL, false, time.Now().UTC()
	if req.IssueURL != "" {
		fix.Issue = req.IssueURL
	}
	if err := report.SaveFix(ctx, f.cfg.Store, *fix); err != nil {
		f.log.Warn("fix state not recorded", "fingerprint", req.Fingerprint, "err", err)
	}
	if !f.cfg.Notifier.Enabled() {
		return
	}
	target := fix.Rollout
	if target == "" {
		target = req.Repo
	}
	no := slack.Notice{Kind: slack.NoticePullRequest, Namespace: fix.Namespace, Target: target, Fingerprint: req.Fingerprint,
		Issue: fix.Issue, PR: pr.URL, Fixer: "opencode", Handoff: github.HandoffPROpen, Summary: pr.Title}
	go func() { _ = f.cfg.Notifier.Notify(context.WithoutCancel(ctx), no) }()
}
