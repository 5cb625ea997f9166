package triage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/monitor"
)

// Monitor adapts the triage agent to the scheduled monitor: its checks are investigate_service's, its
// side effects the triage agent's issue filing and fixer delegation.
type Monitor struct{ t *Triage }

// ForMonitor returns the monitor's Checker and Actor.
func (t *Triage) ForMonitor() Monitor { return Monitor{t} }

var (
	_ monitor.Checker = Monitor{}
	_ monitor.Actor   = Monitor{}
)

// Check implements monitor.Checker with the investigate_service checks.
func (m Monitor) Check(ctx context.Context, tg monitor.Target, window time.Duration) (*monitor.Observation, error) {
	th := Thresholds(tg.Thresholds)
	res, err := m.t.InvestigateService(ctx, InvestigateInput{Namespace: tg.Namespace, Workload: tg.Workload(),
		Window: promDuration(window), Thresholds: &th}, nil)
	if err != nil {
		return nil, err
	}
	o := &monitor.Observation{Status: res.Status, Reasons: res.Reasons, Events: res.Events, Plan: res.FixPlan, Summary: res.Summary(),
		Findings: make([]monitor.Finding, 0, len(res.Findings))}
	for _, f := range res.Findings {
		o.Findings = append(o.Findings, monitor.Finding(f))
	}
	for _, l := range res.Logs {
		o.ErrorTemplates = append(o.ErrorTemplates, l.Pattern)
		if len(l.Examples) > 0 && len(o.LogExamples) < 3 {
			o.LogExamples = append(o.LogExamples, l.Examples[0])
		}
	}
	return o, nil
}

// promDuration writes a window the way PromQL reads it (time.Duration's "30m0s" is not valid PromQL).
func promDuration(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", max(1, d/time.Second))
}

// Context implements monitor.Actor: the workload's rollout or deployment state (recent changes).
func (m Monitor) Context(ctx context.Context, inc monitor.Incident) (string, error) {
	kc := m.t.cfg.Tools.Kube
	if kc == nil {
		return "", errors.New("no cluster configured")
	}
	tg := inc.Target
	switch tg.Kind {
	case "rollout":
		ro, err := kc.GetRollout(ctx, tg.Namespace, tg.Name)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("- Rollout `%s/%s`: phase %s, stable revision `%s`, current revision `%s`. %s",
			tg.Namespace, tg.Name, orDash(ro.Phase), orDash(ro.StableHash), orDash(ro.CurrentHash), ro.Message), nil
	case "deployment":
		d, err := kc.Typed().AppsV1().Deployments(tg.Namespace).Get(ctx, tg.Name, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		return deploymentContext(d), nil
	}
	return "", nil
}

func deploymentContext(d *appsv1.Deployment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "- Deployment `%s/%s`: generation %d, %d/%d replicas ready, revision %s.\n", d.Namespace, d.Name,
		d.Generation, d.Status.ReadyReplicas, d.Status.Replicas, orDash(d.Annotations["deployment.kubernetes.io/revision"]))
	for _, c := range d.Status.Conditions {
		fmt.Fprintf(&b, "  - %s=%s (%s) since %s: %s\n", c.Type, c.Status, c.Reason, c.LastTransitionTime.UTC().Format(time.RFC3339), c.Message)
	}
	return b.String()
}

// FileIssue implements monitor.Actor: one issue per incident fingerprint; the action key is the occurrence
// id, so a resumed run adds no second comment.
func (m Monitor) FileIssue(ctx context.Context, inc monitor.Incident, key string) (string, error) {
	repo := m.t.cfg.DefaultRepo
	if repo == "" || m.t.cfg.GitHub == nil {
		err := errors.New("no GitHub token configured: no issue filed")
		if repo == "" {
			err = errors.New("no repository configured (--github-repo): no issue filed")
		}
		m.t.notifyFinding(ctx, inc, "", err) // the monitor acted: the channel hears of it even without GitHub
		return "", err
	}
	worst := inc.Findings[0]
	sum := sha256.Sum256([]byte(key))
	req := github.IssueRequest{Repo: repo, Fingerprint: inc.Fingerprint, OccurrenceID: hex.EncodeToString(sum[:8]),
		Title:       fmt.Sprintf("%s/%s: %s %s (%s)", inc.Target.Namespace, inc.Target.Workload(), worst.Check, worst.Severity, worst.Value),
		Summary:     inc.Observation.Summary,
		RootCause:   fmt.Sprintf("The scheduled monitor saw these checks over their thresholds for %d consecutive windows.", inc.Streak),
		Remediation: inc.Plan, Namespace: inc.Target.Namespace, Rollout: inc.Target.Workload(), LogExamples: inc.Observation.LogExamples,
		OccurredAt: m.t.cfg.Now().UTC()}
	for _, f := range inc.Findings {
		req.Evidence = append(req.Evidence, github.EvidenceRow{Kind: "check", Signal: f.Check, Stable: "threshold " + f.Threshold,
			Canary: f.Value, Note: strings.TrimSpace(f.Severity + " " + f.Evidence)})
	}
	is, err := m.t.fileIssue(ctx, repo, inc.Fingerprint, req)
	if err != nil {
		m.t.notifyFinding(ctx, inc, "", err)
		return "", err
	}
	m.t.notifyFinding(ctx, inc, is.URL, nil)
	return is.URL, nil
}

// StartFix implements monitor.Actor: hands the plan to the fixer agent (one delegation per fingerprint,
// the triage agent's rule) and returns the fixer's task id.
func (m Monitor) StartFix(ctx context.Context, inc monitor.Incident, issueRef, key string) (string, error) {
	if m.t.cfg.FixerURL == "" {
		return "", errors.New("no fixer agent configured: the plan is in the issue")
	}
	res := &AnalyzeResult{JudgeVerdict: judge.Verdict{RootCause: firstLine(inc.Plan), Remediation: inc.Plan}}
	res.Issue = &github.IssueResult{URL: issueRef}
	in := AnalyzeInput{Namespace: inc.Target.Namespace, Rollout: inc.Target.Workload()}
	m.t.delegatePlan(ctx, m.t.cfg.DefaultRepo, m.t.cfg.DefaultBaseBranch, inc.Fingerprint, in, res, inc.Plan)
	if res.FixerError != "" {
		return "", errors.New(res.FixerError)
	}
	return res.FixerTaskID, nil
}

// FixActive implements monitor.Actor: a fix counts against the cap until its fixer task ends.
func (m Monitor) FixActive(ctx context.Context, taskID string) bool {
	if m.t.cfg.FixerURL == "" {
		return false
	}
	c, err := m.t.fixerClient(ctx)
	if err != nil {
		return true // unknown: keep counting it rather than start fixes past the cap
	}
	defer c.Destroy()
	task, err := c.GetTask(ctx, &a2a.GetTaskRequest{ID: a2a.TaskID(taskID)})
	if err != nil {
		return true
	}
	return !task.Status.State.Terminal()
}
