package monitor

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fixloop/fixloop/internal/store"
)

// These tests drive the workflow engine with in-process checkers and actors (the monitor's own
// interfaces); the real cluster, Prometheus and issue sink are exercised by the e2e tests in
// agents/triage.

type fakeWorld struct {
	mu        sync.Mutex
	findings  map[string][]Finding // workload → findings this run
	issues    map[string]int       // key → calls
	fixes     map[string]int
	failIssue int           // fail this many FileIssue calls first
	block     chan struct{} // FileIssue waits on it when set (to kill a run mid-step)
	entered   chan struct{}
}

func (w *fakeWorld) Targets(context.Context) ([]Target, error) {
	return []Target{{Namespace: "shop", Kind: "rollout", Name: "web", Thresholds: DefaultThresholds}}, nil
}

func (w *fakeWorld) Check(_ context.Context, t Target, _ time.Duration) (*Observation, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return &Observation{Status: "critical", Findings: append([]Finding(nil), w.findings[t.Name]...), Plan: "## Summary\nplan"}, nil
}

func (w *fakeWorld) Context(context.Context, Incident) (string, error) {
	return "rollout healthy at revision 3", nil
}

func (w *fakeWorld) FileIssue(ctx context.Context, inc Incident, key string) (string, error) {
	if w.entered != nil {
		w.entered <- struct{}{}
		select {
		case <-w.block:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failIssue > 0 {
		w.failIssue--
		return "", errors.New("sink down")
	}
	w.issues[key]++
	return "https://github.example/acme/shop/issues/1", nil
}

func (w *fakeWorld) StartFix(_ context.Context, inc Incident, ref, key string) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fixes[key]++
	return "task-" + inc.Fingerprint, nil
}

func (w *fakeWorld) FixActive(context.Context, string) bool { return true }

func newTestMonitor(t *testing.T, w *fakeWorld, st Store) *Monitor {
	t.Helper()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	m, err := New(Config{Store: st, Lister: w, Checker: w, Actor: w, RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); now = now.Add(time.Second); return now }})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func openStore(t *testing.T, dir string) *store.SQLite {
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var crit5xx = Finding{Check: "error_rate_5xx", Severity: "critical", Value: "30%"}

func TestFindingMustPersistTwoWindowsAndActsOnce(t *testing.T) {
	ctx := context.Background()
	w := &fakeWorld{findings: map[string][]Finding{"web": {crit5xx}}, issues: map[string]int{}, fixes: map[string]int{}}
	st := openStore(t, t.TempDir())
	m := newTestMonitor(t, w, st)

	run1, err := m.RunOnce(ctx)
	if err != nil || run1.Status != store.MonitorDone {
		t.Fatalf("run 1: %v %+v", err, run1)
	}
	if len(w.issues) != 0 {
		t.Fatalf("acted on a finding seen in one window only: %v", w.issues)
	}
	fs, _ := st.ListMonitorFindings(ctx, run1.ID)
	if f := find(fs, "error_rate_5xx"); f == nil || f.Streak != 1 || f.Decision != "wait" {
		t.Fatalf("run 1 finding = %+v", f)
	}
	run2, err := m.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.issues) != 1 || len(w.fixes) != 1 {
		t.Fatalf("after two windows: issues %v fixes %v, want one each", w.issues, w.fixes)
	}
	fs, _ = st.ListMonitorFindings(ctx, run2.ID)
	if f := find(fs, "error_rate_5xx"); f == nil || f.Streak != 2 || f.Decision != "act" || f.Fingerprint == "" {
		t.Fatalf("run 2 finding = %+v", f)
	}
	// Third window: still bad, but the workload is cooling down.
	run3, _ := m.RunOnce(ctx)
	fs, _ = st.ListMonitorFindings(ctx, run3.ID)
	if f := find(fs, "error_rate_5xx"); f == nil || f.Decision != "cooldown" || len(w.issues) != 1 {
		t.Fatalf("run 3 finding = %+v, issues %v", f, w.issues)
	}
	steps, _ := st.ListMonitorSteps(ctx, run2.ID)
	var names []string
	for _, s := range steps {
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != strings.Join(Steps, ",") {
		t.Fatalf("steps = %v, want %v", names, Steps)
	}
}

func TestASpikeInOneWindowIsNotActedOn(t *testing.T) {
	ctx := context.Background()
	w := &fakeWorld{findings: map[string][]Finding{"web": {crit5xx}}, issues: map[string]int{}, fixes: map[string]int{}}
	m := newTestMonitor(t, w, openStore(t, t.TempDir()))
	m.RunOnce(ctx)
	w.findings["web"] = []Finding{{Check: "error_rate_5xx", Severity: "ok"}}
	m.RunOnce(ctx)
	w.findings["web"] = []Finding{crit5xx}
	m.RunOnce(ctx)
	if len(w.issues) != 0 {
		t.Fatalf("bad, ok, bad acted: %v", w.issues)
	}
}

func TestFailedStepIsRetried(t *testing.T) {
	ctx := context.Background()
	w := &fakeWorld{findings: map[string][]Finding{"web": {crit5xx}}, issues: map[string]int{}, fixes: map[string]int{}}
	st := openStore(t, t.TempDir())
	m := newTestMonitor(t, w, st)
	m.RunOnce(ctx)
	w.failIssue = 1 // the action records the failure; the next run retries the effect
	run, _ := m.RunOnce(ctx)
	acts, _ := st.ListMonitorActions(ctx, run.ID)
	if len(acts) != 1 || acts[0].Status != store.MonitorFailed || !strings.Contains(acts[0].Error, "sink down") {
		t.Fatalf("actions = %+v", acts)
	}
	if len(w.fixes) != 0 {
		t.Fatalf("fix started without an issue: %v", w.fixes)
	}
}

// A process killed while filing the issue: the next process resumes the run at the issue step, keeps
// the earlier steps' results and files the issue once.
func TestResumeAfterKillDoesNotRepeatFinishedSteps(t *testing.T) {
	dir := t.TempDir()
	w := &fakeWorld{findings: map[string][]Finding{"web": {crit5xx}}, issues: map[string]int{}, fixes: map[string]int{}}
	st := openStore(t, dir)
	m := newTestMonitor(t, w, st)
	m.RunOnce(context.Background())

	w.block, w.entered = make(chan struct{}), make(chan struct{}, 1)
	ctx, kill := context.WithCancel(context.Background())
	done := make(chan *store.MonitorRun)
	go func() { r, _ := m.RunOnce(ctx); done <- r }()
	<-w.entered
	kill()
	run := <-done
	if got, _ := st.GetMonitorRun(context.Background(), run.ID); got.Status != store.MonitorRunning {
		t.Fatalf("killed run status = %q, want running", got.Status)
	}
	w.block, w.entered = nil, nil
	checksBefore := countSteps(t, st, run.ID)
	m2 := newTestMonitor(t, w, openStore(t, dir))
	if err := m2.ResumeUnfinished(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, _ := st.GetMonitorRun(context.Background(), run.ID)
	if got.Status != store.MonitorDone || len(w.issues) != 1 || len(w.fixes) != 1 {
		t.Fatalf("resumed run %+v: issues %v fixes %v", got, w.issues, w.fixes)
	}
	for _, s := range []string{StepArchitecture, StepMetrics, StepThresholds} {
		if checksBefore[s] != 1 {
			t.Fatalf("step %s attempts before resume = %d", s, checksBefore[s])
		}
	}
	after := countSteps(t, st, run.ID)
	if after[StepMetrics] != 1 || after[StepIssue] != 2 {
		t.Fatalf("attempts after resume = %v, want metrics 1 (kept), issue 2 (resumed)", after)
	}
}

func countSteps(t *testing.T, st store.MonitorStore, runID string) map[string]int {
	steps, err := st.ListMonitorSteps(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, s := range steps {
		out[s.Name] = s.Attempts
	}
	return out
}

func find(fs []store.MonitorFinding, check string) *store.MonitorFinding {
	for i := range fs {
		if fs[i].Check == check {
			return &fs[i]
		}
	}
	return nil
}

func TestParseThresholds(t *testing.T) {
	th, err := ParseThresholds(DefaultThresholds, "cpu=80/95, 5xx=2/10,p95=500ms/2s,min-requests=100")
	if err != nil {
		t.Fatal(err)
	}
	if th.CPUWarn != 80 || th.CPUCrit != 95 || th.Err5xxWarn != 2 || th.P95WarnMS != 500 || th.P95CritMS != 2000 || th.MinRequests != 100 || th.MemWarn != 70 {
		t.Fatalf("got %+v", th)
	}
	for _, bad := range []string{"cpu=95/80", "cpu=80", "disk=1/2", "5xx=a/b", "min-requests=-1"} {
		if _, err := ParseThresholds(DefaultThresholds, bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	for attempt := 1; attempt < 40; attempt++ {
		d := backoff(attempt, time.Second, 30*time.Second)
		want := min(time.Second<<min(attempt-1, 30), 30*time.Second)
		if d < want/2 || d > want {
			t.Fatalf("attempt %d: %s outside [%s, %s]", attempt, d, want/2, want)
		}
	}
}

type twoTargets struct {
	*fakeWorld
	listFailures int
}

func (w *twoTargets) Targets(context.Context) ([]Target, error) {
	if w.listFailures > 0 {
		w.listFailures--
		return nil, errors.New("apiserver timeout")
	}
	return []Target{{Namespace: "shop", Kind: "rollout", Name: "web"}, {Namespace: "shop", Kind: "deployment", Name: "api"}}, nil
}

// A step that fails is retried (backoff) within the run; fixes beyond the cap wait while issues are
// still filed for every incident.
func TestStepRetryAndFixCap(t *testing.T) {
	ctx := context.Background()
	w := &twoTargets{fakeWorld: &fakeWorld{findings: map[string][]Finding{"web": {crit5xx}, "api": {crit5xx}}, issues: map[string]int{}, fixes: map[string]int{}}}
	st := openStore(t, t.TempDir())
	m, err := New(Config{Store: st, Lister: w, Checker: w, Actor: w, RetryBase: time.Millisecond, RetryMax: 2 * time.Millisecond, MaxConcurrentFixes: 1})
	if err != nil {
		t.Fatal(err)
	}
	w.listFailures = 2
	run, err := m.RunOnce(ctx)
	if err != nil || run.Status != store.MonitorDone {
		t.Fatalf("run with a flaky lister: %v %+v", err, run)
	}
	if got := countSteps(t, st, run.ID)[StepArchitecture]; got != 3 {
		t.Fatalf("architecture attempts = %d, want 3 (two failures, then success)", got)
	}
	if _, err := m.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if len(w.issues) != 2 || len(w.fixes) != 1 {
		t.Fatalf("issues %v fixes %v: want 2 issues and 1 fix (cap 1)", w.issues, w.fixes)
	}
	w.listFailures = 10
	run, _ = m.RunOnce(ctx)
	if run.Status != store.MonitorFailed || !strings.Contains(run.Error, "apiserver timeout") {
		t.Fatalf("run after exhausting retries = %+v", run)
	}
}
