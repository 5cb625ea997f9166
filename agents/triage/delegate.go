package triage

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2aclient"
	"github.com/a2aproject/a2a-go/v2/a2aclient/agentcard"

	"github.com/fixloop/fixloop/skills"
)

// FixRequest is the DataPart the triage agent sends to the fixer agent (skill "fix_issue").
type FixRequest struct {
	Fingerprint string   `json:"fingerprint"`
	Repo        string   `json:"repo"` // owner/name or URL as configured
	BaseBranch  string   `json:"baseBranch"`
	IssueNumber int      `json:"issueNumber,omitempty"`
	IssueURL    string   `json:"issueUrl,omitempty"`
	Title       string   `json:"title"`
	Plan        string   `json:"plan"` // markdown from the fix_plan skill
	RootCause   string   `json:"rootCause,omitempty"`
	Remediation string   `json:"remediation,omitempty"`
	LogExamples []string `json:"logExamples,omitempty"`
	Namespace   string   `json:"namespace,omitempty"`
	Rollout     string   `json:"rollout,omitempty"`
	CanaryHash  string   `json:"canaryHash,omitempty"`
}

const fixerKV = "triage-fixer-task" // fingerprint → fixer task id: one delegation per failure

type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

func (t *Triage) fixerClient(ctx context.Context) (*a2aclient.Client, error) {
	hc := t.cfg.HTTPClient
	if t.cfg.FixerToken != "" {
		base := hc.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		c := *hc
		c.Transport = bearer{token: t.cfg.FixerToken, next: base}
		hc = &c
	}
	card, err := agentcard.NewResolver(hc).Resolve(ctx, strings.TrimRight(t.cfg.FixerURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("fixer agent card at %s: %w", t.cfg.FixerURL, err)
	}
	return a2aclient.NewFromCard(ctx, card, a2aclient.WithJSONRPCTransport(hc))
}

// delegate hands the fix to the fixer agent over A2A (non-blocking) and records its task id.
func (t *Triage) delegate(ctx context.Context, repo, baseBranch, fp, opID string, in AnalyzeInput, res *AnalyzeResult) {
	t.delegatePlan(ctx, repo, baseBranch, fp, in, res, "")
}

// delegatePlan is delegate with a ready plan (the monitor writes its own); empty plan: the canary plan.
// It holds the fingerprint's delegation claim: replicas look up and record the fixer task one after the
// other, so a failure seen by two of them at once starts one fix.
func (t *Triage) delegatePlan(ctx context.Context, repo, baseBranch, fp string, in AnalyzeInput, res *AnalyzeResult, plan string) {
	err := t.holding(ctx, "delegate|"+fp, func(ctx context.Context) error {
		t.delegateOnce(ctx, repo, baseBranch, fp, in, res, plan)
		return nil
	})
	if err != nil && res.FixerError == "" {
		res.FixerError = "fixer delegation: " + err.Error()
	}
}

func (t *Triage) delegateOnce(ctx context.Context, repo, baseBranch, fp string, in AnalyzeInput, res *AnalyzeResult, plan string) {
	c, err := t.fixerClient(ctx)
	if err != nil {
		res.FixerError = err.Error()
		return
	}
	defer c.Destroy()
	if prev, err := t.cfg.Store.GetKV(ctx, fixerKV, fp); err == nil && len(prev) > 0 {
		task, err := c.GetTask(ctx, &a2a.GetTaskRequest{ID: a2a.TaskID(prev)})
		if err == nil && task.Status.State != a2a.TaskStateFailed && task.Status.State != a2a.TaskStateCanceled && task.Status.State != a2a.TaskStateRejected {
			fillFixer(res, task)
			return
		}
	}
	req := FixRequest{Fingerprint: fp, Repo: repo, BaseBranch: baseBranch, Title: firstLine(res.RootCause), RootCause: res.RootCause,
		Remediation: res.Remediation, Namespace: in.Namespace, Rollout: in.Rollout, CanaryHash: res.CanaryHash}
	if res.Issue != nil {
		req.IssueNumber, req.IssueURL = res.Issue.Number, res.Issue.URL
	}
	for _, e := range res.Evidence {
		req.LogExamples = append(req.LogExamples, e.Examples...)
	}
	if len(req.LogExamples) > 3 {
		req.LogExamples = req.LogExamples[:3]
	}
	req.Plan = plan
	if req.Plan == "" {
		req.Plan = t.fixPlan(req, res)
	}
	data, _ := toMap(req)
	msg := a2a.NewMessage(a2a.MessageRoleUser, a2a.NewDataPart(data), a2a.NewTextPart("Fix: "+req.Title))
	msg.ContextID = "fixloop-" + fp
	out, err := c.SendMessage(ctx, &a2a.SendMessageRequest{Message: msg, Config: &a2a.SendMessageConfig{ReturnImmediately: true}})
	if err != nil {
		res.FixerError = fmt.Sprintf("fixer agent at %s: %v", t.cfg.FixerURL, err)
		return
	}
	switch v := out.(type) {
	case *a2a.Task:
		fillFixer(res, v)
	case *a2a.Message:
		res.FixerState = "message"
		res.PRLink = findPRLink(v.Parts)
	}
	if res.FixerTaskID != "" {
		if err := t.cfg.Store.PutKV(ctx, fixerKV, fp, []byte(res.FixerTaskID)); err != nil {
			t.log.Warn("fixer task not remembered: a repeat may start a second fix", "fingerprint", fp, "err", err)
		}
	}
}

func fillFixer(res *AnalyzeResult, task *a2a.Task) {
	res.FixerTaskID = string(task.ID)
	res.FixerState = strings.ToLower(strings.TrimPrefix(string(task.Status.State), "TASK_STATE_"))
	for _, a := range task.Artifacts {
		if l := findPRLink(a.Parts); l != "" {
			res.PRLink = l
		}
	}
}

// findPRLink looks for a pull request URL in DataParts (prUrl/prLink/pullRequestUrl).
func findPRLink(parts a2a.ContentParts) string {
	for _, p := range parts {
		if m, ok := p.Data().(map[string]any); ok {
			for _, k := range []string{"prUrl", "prLink", "pullRequestUrl", "pr_url"} {
				if s, ok := m[k].(string); ok && s != "" {
					return s
				}
			}
		}
	}
	return ""
}

func (t *Triage) fixPlan(req FixRequest, res *AnalyzeResult) string {
	sk, ok := skills.Get("fix_plan")
	if !ok {
		return res.RootCause + "\n\n" + res.Remediation
	}
	var debug strings.Builder
	fmt.Fprintf(&debug, "1. Compare canary `%s` with stable `%s` of `%s/%s`.\n", orDash(res.CanaryHash), orDash(res.StableHash), req.Namespace, req.Rollout)
	fmt.Fprintf(&debug, "2. Reproduce with the log examples below.\n")
	for _, ex := range req.LogExamples {
		debug.WriteString("\n```text\n" + strings.TrimRight(ex, "\n") + "\n```\n")
	}
	var rc strings.Builder
	rc.WriteString(orDash(res.RootCause) + "\n")
	for _, e := range res.Evidence {
		row := evidenceRow(e)
		fmt.Fprintf(&rc, "- %s `%s`: stable %s, canary %s %s\n", row.Kind, row.Signal, orDash(row.Stable), orDash(row.Canary), row.Note)
	}
	issue := req.IssueURL
	if issue == "" {
		issue = "(none)"
	}
	return skills.Render(sk.Body, map[string]string{
		"title": req.Title, "repository": req.Repo, "baseBranch": req.BaseBranch, "summary": res.Analysis,
		"rootCauses": rc.String(), "affectedServices": fmt.Sprintf("- rollout `%s/%s` (canary revision `%s`)", req.Namespace, req.Rollout, orDash(res.CanaryHash)),
		"recommendations": orDash(res.Remediation), "debuggingSteps": debug.String(), "issue": issue,
	})
}
