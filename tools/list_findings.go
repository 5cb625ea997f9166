package tools

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/fixloop/fixloop/internal/fixstate"
	"github.com/fixloop/fixloop/internal/monitor"
	"github.com/fixloop/fixloop/internal/report"
	"github.com/fixloop/fixloop/internal/store"
)

// ListFindingsInput selects monitor runs.
type ListFindingsInput struct {
	RunID   string `json:"runId,omitempty" jsonschema:"one run; empty lists the newest runs"`
	Limit   int    `json:"limit,omitempty" jsonschema:"newest runs to list (default 10, at most 100)"`
	OnlyBad bool   `json:"onlyBad,omitempty" jsonschema:"list only warning, critical and unknown findings"`
}

// MonitorRunView is one run with its steps, findings and actions.
type MonitorRunView struct {
	store.MonitorRun
	Steps    []StepView             `json:"steps"`
	Findings []store.MonitorFinding `json:"findings"`
	Actions  []store.MonitorAction  `json:"actions"`
}

// StepView is a step without its (large) result document.
type StepView struct {
	Name       string `json:"name"`
	Status     string `json:"status"`
	Attempts   int    `json:"attempts"`
	Error      string `json:"error,omitempty"`
	StartedAt  string `json:"startedAt"`
	FinishedAt string `json:"finishedAt,omitempty"`
}

// ListFindingsOutput is the monitor's recent history.
type ListFindingsOutput struct {
	Monitor monitor.Info     `json:"monitor" jsonschema:"whether this process runs the monitor and who holds the lease"`
	Runs    []MonitorRunView `json:"runs"`
	Fixes   []FixView        `json:"fixes" jsonschema:"where the fix of each filed failure stands: fixloop's fixer or a coding agent handed the issue on GitHub (handed_off, agent_working, pr_open, pr_merged, pr_closed; flagged when no pull request came in time)"`
}

// ListFindings reads the monitor's runs, steps, findings and actions from the store.
func ListFindings(ctx context.Context, d Deps, in ListFindingsInput) (*ListFindingsOutput, error) {
	if d.Monitor == nil {
		return nil, errors.New("the monitor's state is not available in this server (start it with fixloop serve --monitor)")
	}
	st, err := d.Monitor.Store(ctx)
	if err != nil {
		return nil, fmt.Errorf("monitor state (--state-dir): %w", err)
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 10
	}
	limit = min(limit, 100)
	var runs []store.MonitorRun
	if in.RunID != "" {
		r, err := st.GetMonitorRun(ctx, in.RunID)
		if err != nil {
			return nil, fmt.Errorf("run %q: %w", in.RunID, err)
		}
		runs = []store.MonitorRun{*r}
	} else if runs, err = st.ListMonitorRuns(ctx, limit); err != nil {
		return nil, err
	}
	out := &ListFindingsOutput{Monitor: d.Monitor.Info(), Runs: []MonitorRunView{}}
	for _, r := range runs {
		v, err := runView(ctx, d, st, r, in.OnlyBad)
		if err != nil {
			return nil, err
		}
		out.Runs = append(out.Runs, *v)
	}
	if out.Fixes, err = fixStates(ctx, d, st, limit); err != nil {
		return nil, err
	}
	return out, nil
}

// runView assembles one run; free text (evidence, errors) may quote logs, so it is redacted.
func runView(ctx context.Context, d Deps, st store.MonitorStore, r store.MonitorRun, onlyBad bool) (*MonitorRunView, error) {
	v := &MonitorRunView{MonitorRun: r, Steps: []StepView{}, Findings: []store.MonitorFinding{}}
	steps, err := st.ListMonitorSteps(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	for _, s := range steps {
		sv := StepView{Name: s.Name, Status: s.Status, Attempts: s.Attempts, Error: s.Error, StartedAt: s.StartedAt.Format("2006-01-02T15:04:05.000Z07:00")}
		if !s.FinishedAt.IsZero() {
			sv.FinishedAt = s.FinishedAt.Format("2006-01-02T15:04:05.000Z07:00")
		}
		v.Steps = append(v.Steps, sv)
	}
	fs, err := st.ListMonitorFindings(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		if !onlyBad || f.Severity == "warning" || f.Severity == "critical" || f.Severity == "unknown" {
			f.Evidence = d.redact(f.Evidence)
			v.Findings = append(v.Findings, f)
		}
	}
	if v.Actions, err = st.ListMonitorActions(ctx, r.ID); err != nil {
		return nil, err
	}
	for i := range v.Actions {
		v.Actions[i].Error = d.redact(v.Actions[i].Error)
	}
	for i := range v.Steps {
		v.Steps[i].Error = d.redact(v.Steps[i].Error)
	}
	v.Error = d.redact(v.Error)
	return v, nil
}

// FixView is one failure's fix state.
type FixView struct {
	report.Fix
	StateText string `json:"stateText"`
}

// fixStates lists the fix state of the newest filed failures (the issue records name them).
func fixStates(ctx context.Context, d Deps, st store.MonitorStore, limit int) ([]FixView, error) {
	full, ok := st.(interface {
		ListIssues(ctx context.Context) ([]store.IssueRecord, error)
		report.KV
	})
	out := []FixView{}
	if !ok {
		return out, nil
	}
	issues, err := full.ListIssues(ctx)
	if err != nil {
		return nil, fmt.Errorf("issue records: %w", err)
	}
	sort.Slice(issues, func(i, j int) bool { return issues[i].LastSeen.After(issues[j].LastSeen) })
	for _, is := range issues {
		f, err := report.LoadFix(ctx, full, is.Fingerprint)
		if err != nil {
			return nil, err
		}
		if f == nil {
			continue
		}
		if f.Issue == "" {
			f.Issue = is.URL
		}
		out = append(out, FixView{Fix: *f, StateText: fixstate.Text(f.State)})
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

func init() {
	Add(Spec{
		Name:  "list_findings",
		Title: "Health monitor runs and findings",
		Description: "List the scheduled health monitor's recent runs: each run's steps (architecture, metrics, thresholds, context, plan, issue, fix) " +
			"with status and timestamps, every workload's findings (check, severity, value, threshold, consecutive windows, decision) and the " +
			"actions taken (issues filed, fixes started), and where the fix of each filed failure stands (fixloop's fixer or a coding agent on GitHub: " +
			"handed off, agent working, PR open, PR merged or closed, flagged without a PR). Also says which replica holds the monitor's lease.",
		Toolset:    ToolsetMonitor,
		Idempotent: true,
		InputProps: map[string]map[string]any{"limit": {"minimum": 1, "maximum": 100, "default": 10}},
	}, ListFindings)
}
