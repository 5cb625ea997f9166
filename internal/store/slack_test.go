package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Two replicas marking the same Slack delivery from many goroutines: exactly one is first; an expired
// mark may be taken again; thread turns written by one replica are read by the other until they expire.
func TestSlackStoreOnceAcrossReplicas(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		replicas := [2]*SQLStore{open(t), open(t)}
		var firsts atomic.Int32
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				first, err := replicas[i%2].MarkSlackOnce(ctx, "press:C1/1700000000.1", time.Hour)
				if err != nil {
					t.Error(err)
				}
				if first {
					firsts.Add(1)
				}
			}()
		}
		wg.Wait()
		if firsts.Load() != 1 {
			t.Fatalf("%d replicas were first, want 1", firsts.Load())
		}
		clock := time.Now()
		for _, r := range replicas {
			r.now = func() time.Time { return clock }
		}
		if first, _ := replicas[0].MarkSlackOnce(ctx, "event:Ev1", time.Minute); !first {
			t.Fatal("a new key was not first")
		}
		clock = clock.Add(2 * time.Minute)
		if first, _ := replicas[1].MarkSlackOnce(ctx, "event:Ev1", time.Minute); !first {
			t.Fatal("an expired mark still counts")
		}
		if err := replicas[0].PutSlackThread(ctx, "C1/1.1", []byte(`{"TaskID":"t1"}`), time.Hour); err != nil {
			t.Fatal(err)
		}
		if got, err := replicas[1].GetSlackThread(ctx, "C1/1.1"); err != nil || string(got) != `{"TaskID":"t1"}` {
			t.Fatalf("thread from the other replica: %q %v", got, err)
		}
		clock = clock.Add(2 * time.Hour)
		if _, err := replicas[1].GetSlackThread(ctx, "C1/1.1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("an expired thread was read: %v", err)
		}
	})
}

// Expired records are deleted (the tables stay bounded by the deliveries of the last window).
func TestSlackStorePrunesExpired(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		clock := time.Now()
		s.now = func() time.Time { return clock }
		for _, k := range []string{"a", "b", "c"} {
			if _, err := s.MarkSlackOnce(ctx, k, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		clock = clock.Add(time.Hour)
		if _, err := s.MarkSlackOnce(ctx, "d", time.Minute); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM slack_once`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d once-marks kept (%v), want only the live one", n, err)
		}
	})
}
