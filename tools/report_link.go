package tools

import (
	"context"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/report"
	"github.com/fixloop/fixloop/internal/slack"
)

// reportLinked is a tool output that names a verdict's page; its tool result then carries the page as
// a resource_link content block besides the JSON, so an MCP client can show or open it.
type reportLinked interface{ reportURL() string }

func (o *CompareCanaryOutput) reportURL() string { return o.Report }

// reportLink is the resource_link of out's report, if it has one.
func reportLink(out any) []mcp.Content {
	r, ok := out.(reportLinked)
	if !ok || r.reportURL() == "" {
		return nil
	}
	link := mcp.NewResourceLink(r.reportURL(), "verdict-report", "The verdict's page: verdict, stable vs canary charts, log template diff, links to the issue and the fix", "text/html")
	link.Title = "Verdict report"
	return []mcp.Content{link}
}

// ownReport says whether u is a report URL of this server (open_issue takes only those: an issue body
// links nowhere a caller chose).
func (d Deps) ownReport(u string) bool {
	id := report.IDFromURL(u)
	return id != "" && d.Reports != nil && u == d.Reports.URL(id)
}

func (d Deps) reportBase() string {
	if d.Reports == nil {
		return ""
	}
	return strings.TrimSuffix(d.Reports.BaseURL, "/")
}

// issueOpened links the report to its issue and posts the issue to Slack (both best effort: the issue
// is filed either way).
func issueOpened(ctx context.Context, d Deps, in OpenIssueInput, res *github.IssueResult) {
	if in.Report != "" {
		if err := d.Reports.Link(ctx, in.Report, report.Links{Issue: res.URL}); err != nil && d.Logger != nil {
			d.Logger.Warn("report not linked to its issue", "report", in.Report, "err", err)
		}
	}
	if !d.Notifier.Enabled() || !res.Created && !res.Reopened {
		return // a repeat occurrence is a comment, not news
	}
	no := slack.Notice{Kind: slack.NoticeIssue, Namespace: in.Namespace, Target: in.Rollout, Verdict: in.Verdict, Confidence: in.Confidence,
		Summary: in.Summary, RootCause: in.RootCause, Fingerprint: in.Fingerprint, Report: in.Report, Issue: res.URL}
	if no.Target == "" {
		no.Target = res.Repo
	}
	_ = d.Notifier.Notify(ctx, no)
}
