package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fixloop/fixloop/internal/fence"
	"github.com/fixloop/fixloop/internal/testenv"
)

// Many claimers on two replicas (two pools): each key has one holder at a time, a released key passes
// on, a done key is never handed out again, and an expired lease is taken over with a higher token.
func TestClaims(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		t.Run("one holder at a time", func(t *testing.T) { testClaimsExclusive(t, [2]*SQLStore{open(t), open(t)}) })
		t.Run("lease expiry", func(t *testing.T) { testClaimExpiry(t, [2]*SQLStore{open(t), open(t)}) })
		t.Run("done is final", func(t *testing.T) { testClaimDone(t, [2]*SQLStore{open(t), open(t)}) })
		t.Run("fencing token", func(t *testing.T) { testClaimFence(t, [2]*SQLStore{open(t), open(t)}) })
	})
}

// testClaimsExclusive: Hold from 16 goroutines over two replicas per key; a shared counter per key that
// is read, paused on and written back would lose updates if two held the key together.
func testClaimsExclusive(t *testing.T, replicas [2]*SQLStore) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const keys, claimers = 3, 16
	var inside [keys]atomic.Int32
	var counts [keys]int
	var wg sync.WaitGroup
	for c := range claimers {
		for k := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := NewClaimOwner()
				_, err := Hold(ctx, replicas[c%2], fmt.Sprint("issue|fp", k), owner, 5*time.Second, false, func(context.Context) ([]byte, error) {
					if n := inside[k].Add(1); n != 1 {
						t.Errorf("key %d: %d holders at once", k, n)
					}
					v := counts[k]
					time.Sleep(time.Millisecond) // widen the window a second holder would need
					counts[k] = v + 1
					inside[k].Add(-1)
					return nil, nil
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	for k := range keys {
		if counts[k] != claimers {
			t.Errorf("key %d: %d of %d holds counted (two held it at once)", k, counts[k], claimers)
		}
	}
}

func testClaimExpiry(t *testing.T, r [2]*SQLStore) {
	ctx := context.Background()
	now := time.Now()
	for _, s := range r {
		s.now = func() time.Time { return now }
	}
	first, won, err := r[0].AcquireClaim(ctx, "fixer|fp", "a", time.Minute)
	if err != nil || !won || first.Token != 1 {
		t.Fatalf("first acquire: %+v won=%v err=%v", first, won, err)
	}
	if c, won, err := r[1].AcquireClaim(ctx, "fixer|fp", "b", time.Minute); err != nil || won || c.Owner != "a" {
		t.Fatalf("acquire of a live lease: %+v won=%v err=%v, want held by a", c, won, err)
	}
	now = now.Add(30 * time.Second)
	if err := r[0].RenewClaim(ctx, "fixer|fp", "a", time.Minute); err != nil {
		t.Fatal(err)
	}
	now = now.Add(45 * time.Second) // past the first lease, within the renewed one
	if _, won, _ := r[1].AcquireClaim(ctx, "fixer|fp", "b", time.Minute); won {
		t.Fatal("a renewed lease was taken over")
	}
	now = now.Add(time.Minute) // a died: its lease runs out
	c, won, err := r[1].AcquireClaim(ctx, "fixer|fp", "b", time.Minute)
	if err != nil || !won || c.Token != 2 {
		t.Fatalf("takeover after expiry: %+v won=%v err=%v, want b with token 2", c, won, err)
	}
	if err := r[0].RenewClaim(ctx, "fixer|fp", "a", time.Minute); !errors.Is(err, ErrClaimLost) {
		t.Fatalf("the old holder renewing: %v, want ErrClaimLost", err)
	}
	if err := r[0].ReleaseClaim(ctx, "fixer|fp", "a", true, nil); !errors.Is(err, ErrClaimLost) {
		t.Fatalf("the old holder releasing: %v, want ErrClaimLost", err)
	}
	if err := r[1].ReleaseClaim(ctx, "fixer|fp", "b", false, nil); err != nil {
		t.Fatal(err)
	}
	if c, won, err := r[0].AcquireClaim(ctx, "fixer|fp", "a", time.Minute); err != nil || !won || c.Token != 3 {
		t.Fatalf("acquire after release: %+v won=%v err=%v", c, won, err)
	}
}

// testClaimFence: the check before a write passes for the current holder under its token (and gives
// it a whole lease again), and fails for a holder taken over, even one whose renewals never stopped
// being attempted, and for a token of an earlier holding.
func testClaimFence(t *testing.T, r [2]*SQLStore) {
	ctx := context.Background()
	now := time.Now()
	for _, s := range r {
		s.now = func() time.Time { return now }
	}
	a, _, err := r[0].AcquireClaim(ctx, "issue|fp", "a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(50 * time.Second)
	if err := r[0].CheckClaim(ctx, "issue|fp", "a", a.Token, time.Minute); err != nil {
		t.Fatalf("current holder's check: %v", err)
	}
	now = now.Add(50 * time.Second) // past the acquired lease, inside the one the check extended
	if _, won, _ := r[1].AcquireClaim(ctx, "issue|fp", "b", time.Minute); won {
		t.Fatal("the check did not extend the lease: the claim was taken over right after it")
	}
	now = now.Add(time.Minute)
	b, won, err := r[1].AcquireClaim(ctx, "issue|fp", "b", time.Minute)
	if err != nil || !won {
		t.Fatalf("takeover: won=%v err=%v", won, err)
	}
	for _, c := range []struct {
		owner string
		token int64
	}{{"a", a.Token}, {"b", a.Token}, {"a", b.Token}, {"b", 0}} {
		if err := r[0].CheckClaim(ctx, "issue|fp", c.owner, c.token, time.Minute); !errors.Is(err, ErrClaimLost) {
			t.Errorf("check by %s with token %d after b took over: %v, want ErrClaimLost", c.owner, c.token, err)
		}
	}
	if err := r[0].CheckClaim(ctx, "issue|fp", "b", b.Token, time.Minute); err != nil {
		t.Errorf("new holder's check: %v", err)
	}
}

func testClaimDone(t *testing.T, r [2]*SQLStore) {
	ctx := context.Background()
	var runs atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Hold(ctx, r[i%2], "handoff|fp", NewClaimOwner(), 5*time.Second, true, func(context.Context) ([]byte, error) {
				runs.Add(1)
				return []byte("labelled #7"), nil
			})
			if err != nil || !c.Done || string(c.Result) != "labelled #7" {
				t.Errorf("Hold: %+v %v", c, err)
			}
		}()
	}
	wg.Wait()
	if n := runs.Load(); n != 1 {
		t.Fatalf("work marked done ran %d times, want 1", n)
	}
	if _, err := r[0].GetClaim(ctx, "nothing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetClaim of an unknown key: %v", err)
	}
}

// A holder that stops renewing (its process froze) loses the claim to another replica, and the
// stalled work's context is cancelled with ErrClaimLost rather than running on beside the new holder.
func TestHoldCancelsLostClaim(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		a, b := open(t), open(t)
		ctx := context.Background()
		taken := make(chan struct{})
		errc, fenced, checked := make(chan error, 1), make(chan error, 1), make(chan struct{})
		go func() {
			_, err := Hold(ctx, a, "fixer|fp", "a", 300*time.Millisecond, false, func(ctx context.Context) ([]byte, error) {
				if err := fence.Verify(ctx); err != nil {
					t.Errorf("the holder's own fencing check: %v", err)
				}
				close(checked)
				<-taken
				fenced <- fence.Verify(ctx) // before the next renewal could notice
				<-ctx.Done()
				return nil, ctx.Err()
			})
			errc <- err
		}()
		waitHeld(t, b, "fixer|fp", "a")
		<-checked
		// Steal it as a replica would after expiry: the store's clock jumps past a's lease.
		b.now = func() time.Time { return time.Now().Add(time.Hour) }
		if _, won, err := b.AcquireClaim(ctx, "fixer|fp", "b", time.Hour); err != nil || !won {
			t.Fatalf("takeover: won=%v err=%v", won, err)
		}
		close(taken)
		select {
		case err := <-errc:
			if !errors.Is(<-fenced, fence.ErrStale) {
				t.Error("a write checked under the lost claim was not refused")
			}
			if !errors.Is(err, ErrClaimLost) {
				t.Fatalf("Hold of a lost claim returned %v, want ErrClaimLost", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the stalled holder was never told it lost the claim")
		}
	})
}

func waitHeld(t *testing.T, s *SQLStore, key, owner string) {
	t.Helper()
	testenv.WaitFor(t, key+" held by "+owner, 10*time.Millisecond, 30*time.Second, func() (bool, string) {
		c, err := s.GetClaim(context.Background(), key)
		return err == nil && c.Held && c.Owner == owner, fmt.Sprintf("%+v %v", c, err)
	})
}
