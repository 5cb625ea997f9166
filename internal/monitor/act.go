package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/fixloop/fixloop/internal/store"
)

// withContext asks the actor for each incident's context; a failure is recorded in the context text (the
// issue is still worth filing without it).
func (m *Monitor) withContext(ctx context.Context, incs []Incident) ([]Incident, error) {
	out := make([]Incident, len(incs))
	for i, inc := range incs {
		c, err := m.cfg.Actor.Context(ctx, inc)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			c = "context could not be read: " + err.Error()
		}
		inc.Context = c
		out[i] = inc
	}
	return out, nil
}

// withPlans writes the plan the issue and the fixer get: the investigation's plan plus why the monitor
// acted (which checks, for how many consecutive windows) and the context.
func withPlans(incs []Incident) []Incident {
	out := make([]Incident, len(incs))
	for i, inc := range incs {
		var b strings.Builder
		b.WriteString(strings.TrimRight(inc.Observation.Plan, "\n"))
		fmt.Fprintf(&b, "\n\n## Why the monitor acted\n\nThese checks stayed over their thresholds for %d consecutive windows:\n", inc.Streak)
		for _, f := range inc.Findings {
			fmt.Fprintf(&b, "- **%s** %s: %s (threshold %s) %s\n", f.Check, f.Severity, f.Value, f.Threshold, f.Evidence)
		}
		for _, f := range inc.Observation.Findings {
			if f.Check == CheckNewErrorLogs && f.Bad() {
				fmt.Fprintf(&b, "- new error log templates since the previous window: %s\n", f.Evidence)
			}
		}
		if inc.Context != "" {
			b.WriteString("\n## Context\n\n" + inc.Context + "\n")
		}
		inc.Plan = b.String()
		out[i] = inc
	}
	return out
}

// fileIssues files one issue per incident. The action key is (run, fingerprint): a resumed run finds
// the action done and skips it; a claim left running by a dead process is retried, which the actor makes
// idempotent with the same key.
func (m *Monitor) fileIssues(ctx context.Context, run store.MonitorRun, incs []Incident) ([]ActionResult, error) {
	out := []ActionResult{}
	for _, inc := range incs {
		key := "issue/" + run.ID + "/" + inc.Fingerprint
		r, err := m.once(ctx, run, inc, "issue", key, func(ctx context.Context) (string, error) { return m.cfg.Actor.FileIssue(ctx, inc, key) })
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// startFixes hands each incident with an issue to the fixer, at most MaxConcurrentFixes at a time.
func (m *Monitor) startFixes(ctx context.Context, run store.MonitorRun, incs []Incident, issues []ActionResult) ([]ActionResult, error) {
	refs := map[string]string{}
	for _, r := range issues {
		refs[r.Fingerprint] = r.Ref
	}
	out := []ActionResult{}
	for _, inc := range incs {
		key := "fix/" + run.ID + "/" + inc.Fingerprint
		if refs[inc.Fingerprint] == "" {
			out = append(out, ActionResult{Fingerprint: inc.Fingerprint, Workload: inc.Target.Workload(), Skipped: "no issue was filed"})
			continue
		}
		if n, err := m.activeFixes(ctx, key); err != nil {
			return nil, err
		} else if n >= m.cfg.MaxConcurrentFixes {
			out = append(out, ActionResult{Fingerprint: inc.Fingerprint, Workload: inc.Target.Workload(),
				Skipped: fmt.Sprintf("%d fixes already running (cap %d)", n, m.cfg.MaxConcurrentFixes)})
			continue
		}
		r, err := m.once(ctx, run, inc, "fix", key, func(ctx context.Context) (string, error) {
			return m.cfg.Actor.StartFix(ctx, inc, refs[inc.Fingerprint], key)
		})
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// activeFixes counts fixes started by earlier actions that are still running (this run's own key aside).
func (m *Monitor) activeFixes(ctx context.Context, self string) (int, error) {
	acts, err := m.cfg.Store.ListMonitorActions(ctx, "")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range acts {
		if a.Kind == "fix" && a.Key != self && a.Status == store.MonitorDone && a.Ref != "" && m.cfg.Actor.FixActive(ctx, a.Ref) {
			n++
		}
	}
	return n, nil
}

// once takes one keyed side effect, holding its claim in the store (the lease rule of every claim:
// renewed while it runs, taken over only after a dead holder's lease, final once done; the action's
// writes carry its fencing check). A failed effect is recorded and reported in the result (the step
// goes on with the other incidents, and a resumed run tries it again); only a store failure fails the
// step.
func (m *Monitor) once(ctx context.Context, run store.MonitorRun, inc Incident, kind, key string, do func(context.Context) (string, error)) (ActionResult, error) {
	res := ActionResult{Fingerprint: inc.Fingerprint, Workload: inc.Target.Workload()}
	a := store.MonitorAction{Key: key, RunID: run.ID, Kind: kind, Namespace: inc.Target.Namespace, Workload: inc.Target.Workload()}
	var failed error
	c, err := store.Hold(ctx, m.cfg.Store, "monitor-action|"+key, store.NewClaimOwner(), m.cfg.ClaimLease, true, func(ctx context.Context) ([]byte, error) {
		a.Status = store.MonitorRunning
		if err := m.cfg.Store.PutMonitorAction(ctx, a); err != nil {
			return nil, fmt.Errorf("record %s: %w", key, err)
		}
		ref, err := do(ctx)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		a.Status, a.Ref = store.MonitorDone, ref
		if err != nil {
			a.Status, a.Error, failed = store.MonitorFailed, err.Error(), err
		}
		if perr := m.cfg.Store.PutMonitorAction(ctx, a); perr != nil {
			return nil, fmt.Errorf("record %s: %w", key, perr)
		}
		return []byte(ref), failed // a failure leaves the claim open for a retry
	})
	if failed != nil && errors.Is(err, failed) {
		res.Ref, res.Error = a.Ref, failed.Error()
		m.log.Warn("monitor action failed", "kind", kind, "workload", inc.Target.Workload(), "err", failed)
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("claim %s: %w", key, err)
	}
	res.Ref = string(c.Result)
	if a.Status == store.MonitorDone {
		m.log.Info("monitor action", "kind", kind, "workload", inc.Target.Workload(), "ref", res.Ref, "fingerprint", inc.Fingerprint)
	}
	return res, nil
}

func jsonInto(raw []byte, v any) error { return json.Unmarshal(raw, v) }
