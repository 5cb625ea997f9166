package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/fixloop/fixloop/internal/store"
)

// Step names, in order.
const (
	StepArchitecture = "architecture"
	StepMetrics      = "metrics"
	StepThresholds   = "thresholds"
	StepContext      = "context"
	StepPlan         = "plan"
	StepIssue        = "issue"
	StepFix          = "fix"
)

// Steps is the workflow of every run.
var Steps = []string{StepArchitecture, StepMetrics, StepThresholds, StepContext, StepPlan, StepIssue, StepFix}

// Decision is the thresholds step's result.
type Decision struct {
	Findings  []store.MonitorFinding `json:"findings"`
	Incidents []Incident             `json:"incidents"`
}

// ActionResult is what the issue and fix steps did per incident.
type ActionResult struct {
	Fingerprint string `json:"fingerprint"`
	Workload    string `json:"workload"`
	Ref         string `json:"ref,omitempty"`
	Skipped     string `json:"skipped,omitempty"`
	Error       string `json:"error,omitempty"`
}

// runState carries one run through its steps; done holds the steps finished before a resume.
type runState struct {
	run  store.MonitorRun
	done map[string]store.MonitorStep
	seen map[string]store.MonitorStep // every recorded step, so a resumed step keeps its attempt count
}

// errRunHeld means another replica holds the run's claim (alive and renewing it, or dead with its lease
// not yet run out); runHeldError says who and until when.
var errRunHeld = errors.New("monitor: run held by another replica")

type runHeldError struct {
	run, holder string
	until       time.Time
}

func (e *runHeldError) Error() string {
	return fmt.Sprintf("%v: %s (holder %s, lease until %s)", errRunHeld, e.run, e.holder, e.until.Format(time.RFC3339))
}

func (e *runHeldError) Is(target error) bool { return target == errRunHeld }

// execute runs every step not yet done and records the run's outcome, holding the run's claim in the
// store meanwhile (renewed; its fencing check guards the actions' writes), so no other replica resumes
// a run this one is still running.
func (m *Monitor) execute(ctx context.Context, run store.MonitorRun) (*store.MonitorRun, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, won, err := m.cfg.Store.AcquireClaim(ctx, "monitor-run|"+run.ID, store.NewClaimOwner(), m.cfg.ClaimLease)
	if err != nil {
		return nil, fmt.Errorf("monitor: claim run %s: %w", run.ID, err)
	}
	if !won {
		return nil, &runHeldError{run: run.ID, holder: c.Owner, until: c.ExpiresAt}
	}
	out := &run
	_, err = store.Keep(ctx, m.cfg.Store, c, m.cfg.ClaimLease, false, func(ctx context.Context) ([]byte, error) {
		var err error
		out, err = m.executeHeld(ctx, run)
		return nil, err
	})
	return out, err
}

// executeHeld is execute under the run's claim.
func (m *Monitor) executeHeld(ctx context.Context, run store.MonitorRun) (*store.MonitorRun, error) {
	steps, err := m.cfg.Store.ListMonitorSteps(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	rs := &runState{run: run, done: map[string]store.MonitorStep{}, seen: map[string]store.MonitorStep{}}
	for _, s := range steps {
		rs.seen[s.Name] = s
		if s.Status == store.MonitorDone {
			rs.done[s.Name] = s
		}
	}
	err = m.workflow(ctx, rs)
	if ctx.Err() != nil {
		return &rs.run, ctx.Err() // left running: the next holder resumes it
	}
	rs.run.Status, rs.run.UpdatedAt = store.MonitorDone, m.cfg.Now().UTC()
	rs.run.FinishedAt = rs.run.UpdatedAt
	if err != nil {
		rs.run.Status, rs.run.Error = store.MonitorFailed, err.Error()
	}
	if perr := m.cfg.Store.PutMonitorRun(context.WithoutCancel(ctx), rs.run); perr != nil {
		return &rs.run, errors.Join(err, perr)
	}
	return &rs.run, err
}

func (m *Monitor) workflow(ctx context.Context, rs *runState) error {
	targets, err := step(ctx, m, rs, StepArchitecture, func(ctx context.Context) ([]Target, error) { return m.cfg.Lister.Targets(ctx) })
	if err != nil {
		return err
	}
	obs, err := step(ctx, m, rs, StepMetrics, func(ctx context.Context) ([]Observation, error) { return m.observe(ctx, targets), nil })
	if err != nil {
		return err
	}
	dec, err := step(ctx, m, rs, StepThresholds, func(ctx context.Context) (*Decision, error) { return m.decide(ctx, rs.run, obs) })
	if err != nil {
		return err
	}
	incs, err := step(ctx, m, rs, StepContext, func(ctx context.Context) ([]Incident, error) { return m.withContext(ctx, dec.Incidents) })
	if err != nil {
		return err
	}
	incs, err = step(ctx, m, rs, StepPlan, func(ctx context.Context) ([]Incident, error) { return withPlans(incs), nil })
	if err != nil {
		return err
	}
	issues, err := step(ctx, m, rs, StepIssue, func(ctx context.Context) ([]ActionResult, error) { return m.fileIssues(ctx, rs.run, incs) })
	if err != nil {
		return err
	}
	_, err = step(ctx, m, rs, StepFix, func(ctx context.Context) ([]ActionResult, error) { return m.startFixes(ctx, rs.run, incs, issues) })
	return err
}

// step runs fn once per run: a step finished before (this process or a dead one) returns its persisted
// result; otherwise fn is retried with exponential backoff and jitter, each attempt recorded.
func step[T any](ctx context.Context, m *Monitor, rs *runState, name string, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	if s, ok := rs.done[name]; ok {
		var v T
		if err := json.Unmarshal(s.Result, &v); err != nil {
			return zero, fmt.Errorf("step %s: stored result unreadable: %w", name, err)
		}
		return v, nil
	}
	rec := store.MonitorStep{RunID: rs.run.ID, Name: name, StartedAt: m.cfg.Now().UTC()}
	first := 1
	if old, ok := rs.seen[name]; ok {
		rec.StartedAt, first = old.StartedAt, old.Attempts+1
	}
	for attempt := first; ; attempt++ {
		rec.Status, rec.Attempts, rec.Error = store.MonitorRunning, attempt, ""
		if err := m.cfg.Store.PutMonitorStep(ctx, rec); err != nil {
			return zero, fmt.Errorf("step %s: record: %w", name, err)
		}
		v, err := fn(ctx)
		if err == nil {
			raw, merr := json.Marshal(v)
			if merr != nil {
				return zero, fmt.Errorf("step %s: encode result: %w", name, merr)
			}
			rec.Status, rec.Result, rec.FinishedAt = store.MonitorDone, raw, m.cfg.Now().UTC()
			if err := m.cfg.Store.PutMonitorStep(ctx, rec); err != nil {
				return zero, fmt.Errorf("step %s: record: %w", name, err)
			}
			rs.done[name] = rec
			return v, nil
		}
		if ctx.Err() != nil {
			return zero, ctx.Err()
		}
		rec.Status, rec.Error = store.MonitorFailed, err.Error()
		if perr := m.cfg.Store.PutMonitorStep(ctx, rec); perr != nil {
			return zero, fmt.Errorf("step %s: record: %w", name, perr)
		}
		if attempt-first+1 >= m.cfg.RetryAttempts {
			return zero, fmt.Errorf("step %s failed after %d attempts: %w", name, attempt, err)
		}
		m.log.Warn("monitor step failed; retrying", "run", rs.run.ID, "step", name, "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return zero, ctx.Err()
		case <-time.After(backoff(attempt, m.cfg.RetryBase, m.cfg.RetryMax)):
		}
	}
}

// backoff is base*2^(attempt-1) capped at max, with "full jitter" in its upper half so replicas that
// failed together do not retry together.
func backoff(attempt int, base, max time.Duration) time.Duration {
	d := base << min(attempt-1, 30)
	if d <= 0 || d > max {
		d = max
	}
	return d/2 + rand.N(d/2+1)
}
