package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Two replicas (two connection pools) on one database claiming the same keys from many goroutines: each analysis and monitor action has exactly one
// winner, and no fixer step appended concurrently is lost. Per-process locks cannot give this.
func TestTwoReplicasClaimOnce(t *testing.T) {
	eachBackend(t, testTwoReplicasClaimOnce)
}

func testTwoReplicasClaimOnce(t *testing.T, open opener) {
	ctx := context.Background()
	replicas := [2]*SQLStore{open(t), open(t)}
	var wg sync.WaitGroup
	const keys, claimers = 5, 16
	var analysisWins, actionWins [keys]atomic.Int32
	for c := range claimers {
		for k := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := replicas[c%2]
				owner := fmt.Sprintf("replica%d-%d", c%2, c)
				if _, ok, err := s.AcquireClaim(ctx, fmt.Sprint("analysis|shop|web|h", k), owner, time.Minute); err != nil {
					t.Error(err)
				} else if ok {
					analysisWins[k].Add(1)
				}
				if _, ok, err := s.AcquireClaim(ctx, fmt.Sprint("monitor-action|issue/fp", k), owner, time.Minute); err != nil {
					t.Error(err)
				} else if ok {
					actionWins[k].Add(1)
				}
				if err := s.AppendFixerStep(ctx, fmt.Sprint("fp", k), FixerStep{Name: owner, OK: true}); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	for k := range keys {
		if n := analysisWins[k].Load(); n != 1 {
			t.Errorf("analysis h%d claimed %d times, want 1", k, n)
		}
		if n := actionWins[k].Load(); n != 1 {
			t.Errorf("monitor action issue/fp%d claimed %d times, want 1", k, n)
		}
		fs, err := replicas[k%2].GetFixerSession(ctx, fmt.Sprint("fp", k))
		if err != nil || len(fs.Steps) != claimers {
			t.Errorf("fixer session fp%d: %d steps, err %v; want %d (no lost appends)", k, len(fs.Steps), err, claimers)
		}
	}
	if v, err := replicas[1].SchemaVersion(ctx); err != nil || v != len(replicas[1].migrations) {
		t.Errorf("schema version %d (%v) after concurrent starts", v, err)
	}
}

// Replicas starting together on one PostgreSQL database migrate it once, without failing each other.
func TestPostgresReplicasMigrateTogether(t *testing.T) {
	url := newPostgresDB(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := OpenPostgres(context.Background(), url)
			if err == nil {
				defer s.Close()
				var v int
				if v, err = s.SchemaVersion(context.Background()); err == nil && v != len(s.migrations) {
					err = fmt.Errorf("schema version %d, want %d", v, len(s.migrations))
				}
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
