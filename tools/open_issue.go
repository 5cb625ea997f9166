package tools

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fixloop/fixloop/internal/github"
)

// OpenIssueInput describes one failure occurrence.
type OpenIssueInput struct {
	Repo        string               `json:"repo,omitempty" jsonschema:"repository as owner/name or URL (default: FIXLOOP_GITHUB_REPO)"`
	Fingerprint string               `json:"fingerprint" jsonschema:"stable id of the failure (the judge verdict's fingerprint): one open issue per fingerprint"`
	Title       string               `json:"title" jsonschema:"short title; [fixloop] is prefixed and the result kept under 100 characters"`
	Summary     string               `json:"summary,omitempty" jsonschema:"what happened, a few sentences"`
	RootCause   string               `json:"rootCause,omitempty"`
	Remediation string               `json:"remediation,omitempty"`
	Verdict     string               `json:"verdict,omitempty" jsonschema:"promote, abort or inconclusive"`
	Confidence  int                  `json:"confidence,omitempty" jsonschema:"0-100"`
	Evidence    []github.EvidenceRow `json:"evidence,omitempty" jsonschema:"rows of the evidence table: kind, signal, stable, canary, note"`
	LogExamples []string             `json:"logExamples,omitempty" jsonschema:"a few raw log records; redacted and fenced"`
	Namespace   string               `json:"namespace,omitempty"`
	Rollout     string               `json:"rollout,omitempty"`
	Revision    string               `json:"revision,omitempty" jsonschema:"canary revision (pod-template hash or image)"`
	Labels      []string             `json:"labels,omitempty" jsonschema:"extra labels, e.g. one a coding agent watches"`
	Assignees   []string             `json:"assignees,omitempty"`
	Occurrence  string               `json:"occurrenceId,omitempty" jsonschema:"idempotency key: repeating a call with the same id adds no second comment"`
	Links       map[string]string    `json:"links,omitempty" jsonschema:"extra links shown under the summary"`
	Report      string               `json:"report,omitempty" jsonschema:"the verdict's page (compare_canary's report URL): the issue links it and the page links the issue"`
}

// OpenIssueOutput says what happened on GitHub.
type OpenIssueOutput struct {
	github.IssueResult
}

// OpenIssue opens the issue for a failure fingerprint, or comments/reopens the existing one.
func OpenIssue(ctx context.Context, d Deps, in OpenIssueInput) (*OpenIssueOutput, error) {
	gh := d.GitHub
	if gh == nil {
		return nil, errors.New("no GitHub configured: set FIXLOOP_GITHUB_TOKEN (or GITHUB_TOKEN), and FIXLOOP_GITHUB_BASE_URL for GitHub Enterprise or a local sink")
	}
	repo := in.Repo
	if repo == "" {
		repo = d.GitHubRepo
	}
	if repo == "" {
		return nil, errors.New("repo is required (or set FIXLOOP_GITHUB_REPO / github.repo)")
	}
	if in.Report != "" && !d.ownReport(in.Report) {
		return nil, fmt.Errorf("report %q is not a report of this server (want %s/reports/<id>, as compare_canary returns)", in.Report, d.reportBase())
	}
	res, err := gh.EnsureIssue(ctx, github.IssueRequest{
		Repo: repo, Fingerprint: in.Fingerprint, Title: in.Title, Summary: in.Summary, RootCause: in.RootCause, Remediation: in.Remediation,
		Verdict: in.Verdict, Confidence: in.Confidence, Evidence: in.Evidence, LogExamples: in.LogExamples, Namespace: in.Namespace,
		Rollout: in.Rollout, Revision: in.Revision, Labels: in.Labels, Assignees: in.Assignees, OccurrenceID: in.Occurrence, Links: in.Links, Report: in.Report,
	})
	if err != nil {
		return nil, err
	}
	issueOpened(ctx, d, in, res)
	return &OpenIssueOutput{IssueResult: *res}, nil
}

func init() {
	Add(Spec{
		Name:  "open_issue",
		Title: "Open or update the GitHub issue for a failure",
		Description: "File a failure on GitHub with exactly one open issue per fingerprint: the first occurrence opens an issue (labels fixloop and " +
			"fixloop:fp-<hash>, configured labels and assignees; body with summary, root cause, evidence table, redacted log examples, remediation, rollout " +
			"and revision); a repeat adds an occurrence comment; a closed issue that recurs is reopened with a comment. Every text is redacted before it is " +
			"sent. Retries rate limits and server errors without creating duplicates.",
		Toolset:    ToolsetIssues,
		Write:      true,
		Idempotent: true,
		OpenWorld:  true,
		Timeout:    2 * time.Minute,
	}, OpenIssue)
}
