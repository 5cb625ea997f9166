package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
)

// Attack from issue 14: tasks were never deleted (8 MiB messages filled a 1 GiB volume in ~100 calls).
// Finished tasks past the age or count bound are pruned with their records; running ones never are.
func TestPruneTasksBoundsRetention(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		clock := time.Now().Add(-48 * time.Hour)
		s.now = func() time.Time { return clock }
		create := func(id string, state a2a.TaskState) {
			if _, err := s.Tasks().Create(ctx, &a2a.Task{ID: a2a.TaskID(id), ContextID: "c", Status: a2a.TaskStatus{State: state}}); err != nil {
				t.Fatal(err)
			}
			if err := s.PutKV(ctx, "a2a-task-owner", id, []byte("x")); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.AcquireClaim(ctx, "a2a-task|"+id, "r", time.Hour); err != nil {
				t.Fatal(err)
			}
			if err := s.ReleaseClaim(ctx, "a2a-task|"+id, "r", false, nil); err != nil {
				t.Fatal(err)
			}
			clock = clock.Add(time.Minute)
		}
		create("old-done", a2a.TaskStateCompleted)
		create("old-running", a2a.TaskStateWorking)
		clock = time.Now()
		for i := 0; i < 5; i++ {
			create(fmt.Sprintf("new-%d", i), a2a.TaskStateFailed)
		}
		n, err := s.PruneTasks(ctx, 24*time.Hour, 4)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 { // old-done by age, new-0 by count (old-running is kept and counts)
			t.Fatalf("pruned %d, want 2", n)
		}
		for id, want := range map[string]bool{"old-done": false, "old-running": true, "new-0": false, "new-4": true} {
			_, err := s.TaskOwner(ctx, a2a.TaskID(id))
			if (err == nil) != want {
				t.Errorf("%s kept=%v, want %v", id, err == nil, want)
			}
			_, kvErr := s.GetKV(ctx, "a2a-task-owner", id)
			if (kvErr == nil) != want {
				t.Errorf("%s record kept=%v, want %v", id, kvErr == nil, want)
			}
			if _, cErr := s.GetClaim(ctx, "a2a-task|"+id); (cErr == nil) != want {
				t.Errorf("%s claim kept=%v, want %v", id, cErr == nil, want)
			}
		}
	})
}
