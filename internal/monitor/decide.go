package monitor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/fixloop/fixloop/internal/store"
)

// CheckNewErrorLogs is the monitor's own check: error templates absent from the previous run's window.
// It is evidence, not a trigger: a template is new in one window only, so it can never persist.
const CheckNewErrorLogs = "new_error_logs"

// observe runs the checks of every target; one failing target does not stop the others (its observation
// is unknown, with the error as the reason).
func (m *Monitor) observe(ctx context.Context, targets []Target) []Observation {
	out := make([]Observation, 0, len(targets))
	for _, t := range targets {
		o, err := m.cfg.Checker.Check(ctx, t, m.cfg.Window)
		if err != nil || o == nil {
			msg := fmt.Sprint(err)
			o = &Observation{Status: "unknown", Reasons: []string{"check failed: " + msg}, Error: msg}
		}
		o.Target = t
		if o.Findings == nil {
			o.Findings = []Finding{}
		}
		out = append(out, *o)
	}
	return out
}

// decide grades each finding against the previous finished run (streaks), adds the new-error-log
// evidence, and turns workloads whose bad findings persisted for Persist runs into incidents, unless the
// workload is cooling down after an earlier action.
func (m *Monitor) decide(ctx context.Context, run store.MonitorRun, obs []Observation) (*Decision, error) {
	prev, prevObs, err := m.previous(ctx, run)
	if err != nil {
		return nil, err
	}
	acted, err := m.recentlyActed(ctx)
	if err != nil {
		return nil, err
	}
	dec := &Decision{Findings: []store.MonitorFinding{}, Incidents: []Incident{}}
	for _, o := range obs {
		t := o.Target
		o.Findings = append(o.Findings, newErrorLogs(o, prevObs[targetKey(t)]))
		var persisted []Finding
		streak := 0
		for _, f := range o.Findings {
			mf := store.MonitorFinding{RunID: run.ID, Namespace: t.Namespace, Workload: t.Workload(), Check: f.Check, Severity: f.Severity,
				Value: f.Value, Threshold: f.Threshold, Evidence: f.Evidence, At: m.cfg.Now().UTC(), Decision: "ok"}
			if f.Bad() && f.Check != CheckNewErrorLogs {
				mf.Streak = prev[findingKey(t.Namespace, t.Workload(), f.Check)] + 1
				mf.Decision = "wait"
				if mf.Streak >= m.cfg.Persist {
					persisted = append(persisted, f)
					streak = max(streak, mf.Streak)
				}
			}
			dec.Findings = append(dec.Findings, mf)
		}
		if o.Status == "unknown" && len(o.Reasons) > 0 {
			dec.Findings = append(dec.Findings, store.MonitorFinding{RunID: run.ID, Namespace: t.Namespace, Workload: t.Workload(), Check: "readable",
				Severity: "unknown", Evidence: strings.Join(o.Reasons, "; "), At: m.cfg.Now().UTC(), Decision: "ok"})
		}
		if len(persisted) == 0 {
			continue
		}
		slices.SortStableFunc(persisted, func(a, b Finding) int { return severityRank(b.Severity) - severityRank(a.Severity) })
		inc := Incident{Target: t, Findings: persisted, Streak: streak, Observation: o, Fingerprint: fingerprint(t, persisted[0].Check)}
		decision := "act"
		if acted[targetKey(t)] {
			decision = "cooldown"
		} else {
			dec.Incidents = append(dec.Incidents, inc)
		}
		for i := range dec.Findings {
			f := &dec.Findings[i]
			if f.Workload == t.Workload() && f.Namespace == t.Namespace && f.Decision == "wait" && f.Streak >= m.cfg.Persist {
				f.Decision, f.Fingerprint = decision, inc.Fingerprint
			}
		}
	}
	if err := m.cfg.Store.PutMonitorFindings(ctx, run.ID, dec.Findings); err != nil {
		return nil, fmt.Errorf("record findings: %w", err)
	}
	return dec, nil
}

// previous returns the streaks and observations of the last run finished before this one.
func (m *Monitor) previous(ctx context.Context, run store.MonitorRun) (map[string]int, map[string]Observation, error) {
	streaks, obs := map[string]int{}, map[string]Observation{}
	runs, err := m.cfg.Store.ListMonitorRuns(ctx, 20)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range runs {
		if r.ID == run.ID || r.Status != store.MonitorDone || !r.StartedAt.Before(run.StartedAt) {
			continue
		}
		fs, err := m.cfg.Store.ListMonitorFindings(ctx, r.ID)
		if err != nil {
			return nil, nil, err
		}
		for _, f := range fs {
			if f.Severity == "warning" || f.Severity == "critical" {
				streaks[findingKey(f.Namespace, f.Workload, f.Check)] = f.Streak
			}
		}
		steps, err := m.cfg.Store.ListMonitorSteps(ctx, r.ID)
		if err != nil {
			return nil, nil, err
		}
		for _, s := range steps {
			var os []Observation
			if s.Name == StepMetrics && jsonInto(s.Result, &os) == nil {
				for _, o := range os {
					obs[targetKey(o.Target)] = o
				}
			}
		}
		break
	}
	return streaks, obs, nil
}

// recentlyActed lists workloads with an issue filed within the cooldown.
func (m *Monitor) recentlyActed(ctx context.Context) (map[string]bool, error) {
	acts, err := m.cfg.Store.ListMonitorActions(ctx, "")
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	since := m.cfg.Now().Add(-m.cfg.Cooldown)
	for _, a := range acts {
		if a.Kind == "issue" && a.Status == store.MonitorDone && a.CreatedAt.After(since) {
			out[a.Namespace+"/"+a.Workload] = true
		}
	}
	return out, nil
}

func newErrorLogs(o Observation, prev Observation) Finding {
	f := Finding{Check: CheckNewErrorLogs, Severity: "ok"}
	if prev.Target.Name == "" {
		f.Severity, f.Evidence = "skipped", "no previous window to compare with"
		return f
	}
	var fresh []string
	for _, t := range o.ErrorTemplates {
		if !slices.Contains(prev.ErrorTemplates, t) {
			fresh = append(fresh, t)
		}
	}
	f.Value = fmt.Sprintf("%d new of %d error templates", len(fresh), len(o.ErrorTemplates))
	if len(fresh) > 0 {
		f.Severity = "warning"
		f.Evidence = strings.Join(fresh[:min(3, len(fresh))], " | ")
	}
	return f
}

func severityRank(s string) int {
	switch s {
	case "critical":
		return 2
	case "warning":
		return 1
	}
	return 0
}

func targetKey(t Target) string { return t.Namespace + "/" + t.Workload() }

func findingKey(ns, workload, check string) string { return ns + "/" + workload + "#" + check }

// fingerprint identifies an incident by workload and its worst check, so the same failure maps to the
// same issue run after run.
func fingerprint(t Target, check string) string {
	sum := sha256.Sum256([]byte("monitor|" + targetKey(t) + "|" + check))
	return "mon-" + hex.EncodeToString(sum[:6])
}
