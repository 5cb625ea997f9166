// Package monitor is fixloop's scheduled health monitor: every interval it reads the selected workloads'
// health over a window, decides which findings have persisted long enough to act on, and files one issue
// and hands one fix per incident. Each run is a durable workflow of named steps persisted in the store, so
// a process killed mid-run (or a new lease holder) resumes at the unfinished step without repeating a
// side effect. The checks themselves and the side effects come from the agents through Checker and Actor.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/fixloop/fixloop/internal/store"
)

// Target is one selected workload.
type Target struct {
	Namespace  string     `json:"namespace"`
	Kind       string     `json:"kind"` // rollout|deployment|statefulset
	Name       string     `json:"name"`
	Thresholds Thresholds `json:"thresholds"`
	// Notes say what was wrong with the workload's annotations (the defaults were used instead).
	Notes []string `json:"notes,omitempty"`
}

// Workload is the kind/name form kubectl and the tools take.
func (t Target) Workload() string { return t.Kind + "/" + t.Name }

// Finding is one check's result for one workload.
type Finding struct {
	Check     string   `json:"check"`
	Severity  string   `json:"severity"` // ok|warning|critical|skipped
	Value     string   `json:"value,omitempty"`
	Threshold string   `json:"threshold,omitempty"`
	Pods      []string `json:"pods,omitempty"`
	Evidence  string   `json:"evidence,omitempty"`
}

// Bad reports a finding worth acting on.
func (f Finding) Bad() bool { return f.Severity == "warning" || f.Severity == "critical" }

// Observation is what Checker read about one target over the window.
type Observation struct {
	Target   Target    `json:"target"`
	Status   string    `json:"status"` // healthy|degraded|critical|unknown
	Reasons  []string  `json:"reasons,omitempty"`
	Findings []Finding `json:"findings"`
	// ErrorTemplates are the error/warning log templates seen in the window (for "new versus the previous
	// window"); LogExamples a few raw lines of them.
	ErrorTemplates []string `json:"errorTemplates,omitempty"`
	LogExamples    []string `json:"logExamples,omitempty"`
	Events         []string `json:"events,omitempty"`
	Plan           string   `json:"plan,omitempty"` // the investigation's fix plan (markdown)
	Summary        string   `json:"summary,omitempty"`
	Error          string   `json:"error,omitempty"` // the check itself failed
}

// Incident is a workload whose findings persisted: what the issue and the fix are about.
type Incident struct {
	Target      Target      `json:"target"`
	Fingerprint string      `json:"fingerprint"`
	Findings    []Finding   `json:"findings"` // the persisted bad ones, worst first
	Streak      int         `json:"streak"`
	Observation Observation `json:"observation"`
	Context     string      `json:"context,omitempty"`
	Plan        string      `json:"plan,omitempty"`
}

// Checker reads one workload's health over the window (the investigate_service checks).
type Checker interface {
	Check(ctx context.Context, t Target, window time.Duration) (*Observation, error)
}

// Actor takes the monitor's side effects. key is the idempotency key of the action: repeating a call with
// the same key must not file a second issue comment or start a second fix.
type Actor interface {
	// Context gathers what a fixer needs besides the findings: rollout state, recent changes.
	Context(ctx context.Context, inc Incident) (string, error)
	FileIssue(ctx context.Context, inc Incident, key string) (ref string, err error)
	StartFix(ctx context.Context, inc Incident, issueRef, key string) (taskID string, err error)
	// FixActive reports whether a fix started earlier is still running (counts against the cap).
	FixActive(ctx context.Context, taskID string) bool
}

// Store is what the monitor keeps in the store: its workflow records and the claims on runs and actions.
type Store interface {
	store.MonitorStore
	store.ClaimStore
}

// Lister returns the selected workloads.
type Lister interface {
	Targets(ctx context.Context) ([]Target, error)
}

// Config tunes and wires the monitor.
type Config struct {
	Interval time.Duration // between runs (default 10m)
	Window   time.Duration // read per run (default 30m)
	// Persist is how many consecutive runs a finding must be bad before acting (default 2).
	Persist  int
	Cooldown time.Duration // after acting on a workload, no new action on it for this long (default 1h)
	// MaxConcurrentFixes caps fixes in flight at once (default 1); issues are still filed above the cap.
	MaxConcurrentFixes int
	// Retry of a failed step: attempts (default 4), exponential backoff from RetryBase (default 1s) up to
	// RetryMax (default 30s), with jitter.
	RetryAttempts int
	RetryBase     time.Duration
	RetryMax      time.Duration
	Identity      string // who runs (host/pid); recorded on runs
	// ClaimLease is the lease of the run and action claims in the store (default 15s), renewed while
	// they run: replicas sharing the store (a Lease handover, one fixloop per cluster on one database)
	// never run one run or one action side by side, and a dead replica's is taken over after it.
	ClaimLease time.Duration

	Store   Store
	Lister  Lister
	Checker Checker
	Actor   Actor
	Logger  *slog.Logger
	Now     func() time.Time
}

// Monitor runs the schedule.
type Monitor struct {
	cfg Config
	log *slog.Logger
	mu  sync.Mutex // one run at a time per process
}

// New validates cfg and fills defaults.
func New(cfg Config) (*Monitor, error) {
	if cfg.Store == nil || cfg.Lister == nil || cfg.Checker == nil || cfg.Actor == nil {
		return nil, errors.New("monitor: store, lister, checker and actor are required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Interval, 10*time.Minute)
	def(&cfg.Window, 30*time.Minute)
	def(&cfg.Cooldown, time.Hour)
	def(&cfg.RetryBase, time.Second)
	def(&cfg.RetryMax, 30*time.Second)
	def(&cfg.ClaimLease, 15*time.Second)
	if cfg.Persist <= 0 {
		cfg.Persist = 2
	}
	if cfg.MaxConcurrentFixes <= 0 {
		cfg.MaxConcurrentFixes = 1
	}
	if cfg.RetryAttempts <= 0 {
		cfg.RetryAttempts = 4
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Monitor{cfg: cfg, log: cfg.Logger}, nil
}

// Run resumes unfinished runs, then runs every Interval until ctx ends (the lease is lost or the process
// stops). A failed run is logged and recorded; the schedule goes on. A run another replica still held
// at the resume (a dead leader's lease not yet run out) is tried again when that lease ends.
func (m *Monitor) Run(ctx context.Context) {
	m.log.Info("monitor started", "interval", m.cfg.Interval, "window", m.cfg.Window, "identity", m.cfg.Identity)
	var retry <-chan time.Time
	resume := func() {
		at, err := m.resume(ctx)
		if err != nil && ctx.Err() == nil {
			m.log.Warn("monitor: could not resume unfinished runs", "err", err)
		}
		retry = nil
		if !at.IsZero() {
			retry = time.After(time.Until(at) + resumeSlack)
		}
	}
	resume()
	tick := time.NewTicker(m.cfg.Interval)
	defer tick.Stop()
	for due := true; ; {
		if due {
			if _, err := m.RunOnce(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn("monitor run failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-retry:
			resume()
			due = false
		case <-tick.C:
			due = true
		}
	}
}

// resumeSlack is how long after a held run's lease ends it is tried again (the holder's clock may
// differ a little).
const resumeSlack = 500 * time.Millisecond

// RunOnce starts a new run and executes it to the end.
func (m *Monitor) RunOnce(ctx context.Context) (*store.MonitorRun, error) {
	now := m.cfg.Now().UTC()
	run := store.MonitorRun{ID: fmt.Sprintf("run-%s-%04x", now.Format("20060102T150405.000"), rand.N(0x10000)),
		Status: store.MonitorRunning, Window: m.cfg.Window.String(), Owner: m.cfg.Identity, StartedAt: now, UpdatedAt: now}
	if err := m.cfg.Store.PutMonitorRun(ctx, run); err != nil {
		return nil, fmt.Errorf("monitor: record run: %w", err)
	}
	return m.execute(ctx, run)
}

// ResumeUnfinished finishes runs a dead process (or a previous lease holder) left running. Runs a live
// replica holds are left to it.
func (m *Monitor) ResumeUnfinished(ctx context.Context) error {
	_, err := m.resume(ctx)
	return err
}

// resume is ResumeUnfinished; it returns when the earliest run left to another holder can be tried again
// (zero: none was).
func (m *Monitor) resume(ctx context.Context) (time.Time, error) {
	runs, err := m.cfg.Store.UnfinishedMonitorRuns(ctx)
	if err != nil {
		return time.Time{}, err
	}
	var retryAt time.Time
	for _, r := range runs {
		m.log.Info("monitor: resuming run", "run", r.ID, "previousOwner", r.Owner)
		r.Owner = m.cfg.Identity
		_, err := m.execute(ctx, r)
		var held *runHeldError
		if errors.As(err, &held) {
			m.log.Info("monitor: run is held by another replica; trying again when its lease ends", "run", r.ID, "holder", held.holder, "until", held.until)
			if retryAt.IsZero() || held.until.Before(retryAt) {
				retryAt = held.until
			}
			continue
		}
		if err != nil && ctx.Err() == nil {
			m.log.Warn("monitor: resumed run failed", "run", r.ID, "err", err)
		}
	}
	return retryAt, ctx.Err()
}
