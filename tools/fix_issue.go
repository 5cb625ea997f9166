package tools

import (
	"context"
	"errors"
	"time"
)

// FixIssueInput names the issue to fix.
type FixIssueInput struct {
	IssueURL string `json:"issueUrl" jsonschema:"URL of an issue fixloop filed (its fingerprint and repository come from fixloop's record, never from the issue text)"`
}

// FixIssueOutput is what the fixer agent answered.
type FixIssueOutput struct {
	TaskID  string `json:"taskId" jsonschema:"the fixer agent's A2A task"`
	Summary string `json:"summary" jsonschema:"the fixer's result: the verified pull request, or why there is none"`
}

// Fixer runs the fixer agent on an issue fixloop filed, reporting its status updates to progress.
type Fixer interface {
	FixIssue(ctx context.Context, issueURL string, progress func(string)) (*FixIssueOutput, error)
}

// FixIssue hands an issue to the fixer agent and relays each of its status updates as an MCP progress
// notification (a fix takes minutes: the client sees cloning, the coding agent's tool calls, the push and
// the pull request's verification as they happen).
func FixIssue(ctx context.Context, d Deps, in FixIssueInput) (*FixIssueOutput, error) {
	if d.Fixer == nil {
		return nil, errors.New("no fixer agent: fix_issue runs in `fixloop serve` with --opencode-url and GitHub configured")
	}
	if in.IssueURL == "" {
		return nil, errors.New("missing required argument `issueUrl`")
	}
	step := 0
	return d.Fixer.FixIssue(ctx, in.IssueURL, func(msg string) {
		step++
		Progress(ctx, float64(step), 0, msg)
		LogToClient(ctx, "info", "fix_issue", "%s", msg)
	})
}

func init() {
	Add(Spec{
		Name:  "fix_issue",
		Title: "Fix an issue fixloop filed with a pull request",
		Description: "Hand an issue fixloop filed to the fixer agent: OpenCode works on a clone of the repository with the failure's plan, fixloop " +
			"pushes the branch, opens the pull request and verifies it. One session and one pull request per failure fingerprint: a repeat follows " +
			"the running fix or returns the existing pull request. Sends progress notifications when the call carries a progress token.",
		Toolset:    ToolsetFix,
		Write:      true,
		Idempotent: true,
		OpenWorld:  true,
		Timeout:    45 * time.Minute,
	}, FixIssue)
}
