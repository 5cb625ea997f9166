package github

import "github.com/fixloop/fixloop/internal/telemetry"

// countIssue adds what EnsureIssue did to fixloop_issues_total (nothing for a repeated occurrence).
func countIssue(res *IssueResult) {
	switch {
	case res.Created:
		telemetry.IssuesOpened.WithLabelValues("opened").Inc()
	case res.Reopened:
		telemetry.IssuesOpened.WithLabelValues("reopened").Inc()
	case res.Commented:
		telemetry.IssuesOpened.WithLabelValues("commented").Inc()
	}
}
