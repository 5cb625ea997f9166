package fixer

import (
	"context"
	"fmt"

	"github.com/a2aproject/a2a-go/v2/a2a"

	"github.com/fixloop/fixloop/agents"
	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/skills"
)

// SkillID is the A2A skill the fixer serves.
const SkillID = "fix_issue"

// Card is the fixer's agent card (the host fills in URLs, capabilities and security).
func Card() *a2a.AgentCard {
	card := &a2a.AgentCard{
		Name:        "fixloop fixer",
		Description: "Hands a fix plan for a production failure to an OpenCode coding agent, streams its progress, and returns the pull request it verified through the GitHub API. One session and one PR per failure fingerprint.",
		Skills: []a2a.AgentSkill{{
			ID:   SkillID,
			Name: "Fix an issue with a pull request",
			Description: "Input (DataPart JSON): {repoUrl, baseBranch, issue | issueUrl, plan (markdown) or findings/verdict, fingerprint}. " +
				"Output artifact: {status: pr_open|no_pr|failed, prUrl, branch, sessionId, summary, filesChanged}. " +
				"Repeating a request with the same fingerprint returns the existing pull request or follows the running session.",
			Tags:        []string{"fix", "pull-request", "opencode", "github"},
			Examples:    []string{`{"repoUrl":"https://github.com/acme/shop.git","baseBranch":"main","issue":42,"fingerprint":"fp-3f2a","plan":"# Fix plan: index out of range in cart.Last ..."}`},
			InputModes:  []string{"application/json"},
			OutputModes: []string{"application/json", "text/plain"},
		}},
	}
	// The plan template ships with the card so callers can build plans the fixer understands.
	if s, ok := skills.Get("fix_plan"); ok {
		card.Skills = append(card.Skills, a2a.AgentSkill{ID: s.Name, Name: s.Title, Description: s.Description + " (template served as an MCP prompt)", Tags: []string{"playbook"}})
	}
	return card
}

// Skill is the fix_issue body for agents.NewExecutor.
func (f *Fixer) Skill(ctx context.Context, in agents.Input, progress agents.Progress) (*agents.Output, error) {
	var req Request
	if err := in.Decode(&req); err != nil {
		return nil, err
	}
	if req.RepoURL == "" && req.Repo == "" && req.Plan == "" && in.Text != "" && in.Data == nil {
		return nil, fmt.Errorf("fix_issue needs a JSON request (DataPart): {repoUrl, baseBranch, fingerprint, plan | findings, issue}")
	}
	res, err := f.Fix(ctx, req, func(s string) { progress(s) })
	if err != nil {
		return nil, err
	}
	summary := fmt.Sprintf("%s: %s", res.Status, res.Summary)
	switch res.Status {
	case StatusPROpen:
		summary = fmt.Sprintf("pull request %s (branch %s): %s", res.PRURL, res.Branch, res.Summary)
	case StatusNoPR, StatusFailed:
		summary = fmt.Sprintf("%s: %s", res.Status, res.Error)
	}
	out := &agents.Output{Data: res, Summary: summary, ArtifactName: "fix_result"}
	if res.Status != StatusPROpen {
		// The task fails visibly; the artifact still carries the details (last messages, error).
		out.State = a2a.TaskStateFailed
	}
	return out, nil
}

// Agent returns the mountable fixer agent. Resumable: a task interrupted by a restart is re-run, and the
// fingerprint record makes that rerun follow the existing session instead of starting another.
func (f *Fixer) Agent() agents.Agent {
	// Scope fix: starting a coding agent on a repository is the most powerful thing fixloop does.
	return agents.Agent{Name: "fixer", Card: Card(), Executor: agents.NewExecutor(f.Skill), Resumable: true, Scope: auth.ScopeFix}
}

// Mount adds the fixer to an A2A host at /agents/fixer.
func (f *Fixer) Mount(h *agents.Host) error { return h.Mount(f.Agent()) }
