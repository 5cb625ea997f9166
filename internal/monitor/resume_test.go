package monitor

import (
	"context"
	"testing"
	"time"

	"github.com/fixloop/fixloop/internal/store"
	"github.com/fixloop/fixloop/internal/testenv"
)

// A leader killed mid-run keeps its run's claim until the lease runs out. The next leader's resume
// found the run held, left it, and nothing tried again: the run stayed unfinished for good (the
// cluster test's killed run was never finished). Run now tries it again when the lease ends.
func TestRunHeldByADeadReplicaIsResumedAfterItsLease(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := openStore(t, t.TempDir())
	now := time.Now().UTC()
	dead := store.MonitorRun{ID: "run-of-a-dead-leader", Status: store.MonitorRunning, Window: "5m0s", Owner: "dead", StartedAt: now, UpdatedAt: now}
	if err := st.PutMonitorRun(ctx, dead); err != nil {
		t.Fatal(err)
	}
	if _, won, err := st.AcquireClaim(ctx, "monitor-run|"+dead.ID, "dead", time.Second); err != nil || !won {
		t.Fatalf("the dead leader's claim: won=%v err=%v", won, err)
	}
	w := &fakeWorld{findings: map[string][]Finding{}, issues: map[string]int{}, fixes: map[string]int{}}
	m := newTestMonitor(t, w, st)
	m.cfg.Interval = time.Hour // only the resume can finish the run within the test
	runCtx, stop := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { m.Run(runCtx); close(stopped) }()
	defer func() { stop(); <-stopped }()
	testenv.WaitFor(t, "the dead leader's run to be resumed and finished", 50*time.Millisecond, 30*time.Second, func() (bool, string) {
		r, err := st.GetMonitorRun(ctx, dead.ID)
		if err != nil {
			return false, err.Error()
		}
		return r.Status != store.MonitorRunning, "status " + string(r.Status)
	})
}
