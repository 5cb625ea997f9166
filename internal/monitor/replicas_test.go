package monitor

import (
	"context"
	"testing"
	"time"

	"github.com/fixloop/fixloop/internal/store"
)

// Two replicas on one store: while replica a runs a run (alive, renewing its claims), replica b
// resuming unfinished runs (a Lease handover, or one fixloop per cluster on one database) leaves that
// run alone instead of taking its steps and actions beside a. With the old per-run action claim, b's
// resume filed the issue a second time.
func TestLiveReplicasRunIsNotResumedBeside(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := &fakeWorld{findings: map[string][]Finding{"web": {crit5xx}}, issues: map[string]int{}, fixes: map[string]int{}}
	a := newTestMonitor(t, w, openStore(t, dir))
	if _, err := a.RunOnce(ctx); err != nil { // the first window: the finding must persist
		t.Fatal(err)
	}
	w.block, w.entered = make(chan struct{}), make(chan struct{}, 2)
	done := make(chan error, 1)
	go func() { _, err := a.RunOnce(ctx); done <- err }()
	<-w.entered // a is filing the issue
	b := newTestMonitor(t, w, openStore(t, dir))
	resumed := make(chan error, 1)
	go func() { resumed <- b.ResumeUnfinished(ctx) }()
	bActed := false
	select {
	case err := <-resumed:
		if err != nil {
			t.Fatal(err)
		}
	case <-w.entered:
		bActed = true
	case <-ctx.Done():
		t.Fatal("replica b's resume neither returned nor acted")
	}
	close(w.block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if bActed {
		<-resumed
		t.Errorf("replica b resumed the run replica a was running and filed its issue beside a")
	}
	issues, fixes := 0, 0
	for _, n := range w.issues {
		issues += n
	}
	for _, n := range w.fixes {
		fixes += n
	}
	if issues != 1 || fixes != 1 {
		t.Fatalf("%d issue filings and %d fixes for one incident, want 1 and 1", issues, fixes)
	}
	runs, _ := b.cfg.Store.UnfinishedMonitorRuns(ctx)
	if len(runs) != 0 {
		t.Fatalf("runs left unfinished: %+v", runs)
	}
	if acts, _ := b.cfg.Store.ListMonitorActions(ctx, ""); len(acts) != 2 || acts[0].Status != store.MonitorDone {
		t.Fatalf("actions recorded: %+v, want the issue and the fix, done", acts)
	}
}
