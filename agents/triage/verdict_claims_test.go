package triage

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fixloop/fixloop/internal/github/ghsink"
	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/store"
)

// Two replicas on one real PostgreSQL answering the web provider for one canary: while replica a runs
// the analysis (renewing its short lease), b joins it and never runs it beside; once a dies mid-analysis
// (its renewals stop), b takes over after one lease, not after the whole analysis timeout (the old
// claim: 4.5 min); and when the stalled a wakes up, its verdict is not cached over b's.
func TestDeadReplicasAnalysisTakenOverAfterOneLease(t *testing.T) {
	t.Parallel()
	pgURL := postgresDB(t, "verdicts")
	sink, err := ghsink.New(ghsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stA, a := replicaOn(t, pgURL, sink, nil)
	_, b := replicaOn(t, pgURL, sink, nil)
	lease := a.cfg.ClaimLease
	wake, aRuns, bRuns := make(chan struct{}), atomic.Int32{}, atomic.Int32{}
	a.analyze = func(context.Context, AnalyzeInput, string) (*AnalyzeResult, error) {
		aRuns.Add(1)
		<-wake // frozen: a killed process neither finishes nor notices its context
		return verdictOf(judge.Promote), nil
	}
	b.analyze = func(context.Context, AnalyzeInput, string) (*AnalyzeResult, error) {
		bRuns.Add(1)
		return verdictOf(judge.Abort), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key := store.AnalysisKey{Namespace: "shop", Rollout: "web", CanaryHash: "abc", Run: "uid-1/web-abc-1/uid-2"}
	in := AnalyzeInput{Namespace: "shop", Rollout: "web"}
	if r, err := a.ensureAnalysis(ctx, key, in); err != nil || r.Status != store.AnalysisRunning {
		t.Fatalf("replica a starting the analysis: %+v %v", r, err)
	}
	// Three leases of polls at b: a's renewals keep the analysis a's.
	for end := time.Now().Add(3 * lease); time.Now().Before(end); {
		if r, err := b.ensureAnalysis(ctx, key, in); err != nil || r.Status != store.AnalysisRunning {
			t.Fatalf("replica b while a runs it: %+v %v", r, err)
		}
		time.Sleep(lease / 10) // the web provider's own poll, compressed
	}
	if n := bRuns.Load(); n != 0 {
		t.Fatalf("replica b ran the analysis %d times while a was running it", n)
	}
	stA.pause() // a is killed: its lease is no longer renewed
	killed := time.Now()
	var got *store.Analysis
	err = wait.PollUntilContextTimeout(ctx, lease/10, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err = b.ensureAnalysis(ctx, key, in)
		return err == nil && got.Status == store.AnalysisDone, err
	})
	if err != nil {
		t.Fatalf("replica b never took the dead replica's analysis over (%v); last %+v", err, got)
	}
	t.Logf("taken over and answered %s after the kill (lease %s)", time.Since(killed).Round(time.Millisecond), lease)
	if n := bRuns.Load(); n != 1 {
		t.Fatalf("replica b ran the analysis %d times, want 1", n)
	}
	close(wake) // the stalled replica comes back and tries to cache its own verdict
	stA.waitReleased(t, analysisClaimKey(key))
	cached, err := b.cfg.Store.GetAnalysis(ctx, key)
	var v WebVerdict
	if err != nil || json.Unmarshal(cached.Result, &v) != nil || v.Verdict != judge.Abort {
		t.Fatalf("cached verdict after the stale replica woke: %+v %v, want b's abort", v, err)
	}
	if aRuns.Load() != 1 {
		t.Fatalf("replica a ran %d analyses, want 1", aRuns.Load())
	}
}

func verdictOf(verdict string) *AnalyzeResult {
	return &AnalyzeResult{JudgeVerdict: judge.Verdict{Verdict: verdict, Promote: verdict == judge.Promote, Confidence: 90}}
}
