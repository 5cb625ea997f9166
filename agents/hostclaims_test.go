package agents_test

import (
	"context"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"

	"github.com/fixloop/fixloop/internal/store"
	"github.com/fixloop/fixloop/internal/testenv"
)

// Replicas sharing one store: a replica starting up (Resume) leaves alone a task another live replica
// is running, and resumes one whose replica died once that replica's lease has run out. The old Resume
// re-ran (or failed) every unfinished task it found, live ones included.
func TestResumeLeavesOtherReplicasTasks(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, t.TempDir())
	for _, id := range []a2a.TaskID{"live", "orphan"} {
		msg := a2a.NewMessage(a2a.MessageRoleUser, a2a.NewDataPart(map[string]any{"id": string(id)}))
		if _, err := st.Tasks().Create(ctx, &a2a.Task{ID: id, ContextID: "c", Status: a2a.TaskStatus{State: a2a.TaskStateWorking}, History: []*a2a.Message{msg}}); err != nil {
			t.Fatal(err)
		}
		st.PutKV(ctx, "a2a-task-agent", string(id), []byte("echo"))
	}
	// What the replicas' executors hold: a live one renews; a dead one's lease ends soon.
	if _, won, err := st.AcquireClaim(ctx, "a2a-task|live", "replica-a/1", time.Hour); err != nil || !won {
		t.Fatalf("claim live: %v %v", won, err)
	}
	if _, won, err := st.AcquireClaim(ctx, "a2a-task|orphan", "replica-dead/1", 300*time.Millisecond); err != nil || !won {
		t.Fatalf("claim orphan: %v %v", won, err)
	}
	h, base := startHost(t, st, true)
	c := client(t, base, "echo")
	resumeAndWait(t, h.Resume, h.Wait)
	if s := taskState(t, c, "live"); s != a2a.TaskStateWorking {
		t.Fatalf("a task running on a live replica became %s", s)
	}
	if s := taskState(t, c, "orphan"); s != a2a.TaskStateWorking {
		t.Fatalf("a task whose replica's lease had not run out became %s", s)
	}
	waitExpired(t, st, "a2a-task|orphan")
	resumeAndWait(t, h.Resume, h.Wait)
	if s := taskState(t, c, "orphan"); s != a2a.TaskStateCompleted {
		t.Fatalf("orphaned task after its lease ran out: %s, want completed", s)
	}
	if s := taskState(t, c, "live"); s != a2a.TaskStateWorking {
		t.Fatalf("live task after the second sweep: %s", s)
	}
}

func resumeAndWait(t *testing.T, resume func(context.Context) error, wait func()) {
	t.Helper()
	if err := resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	wait()
}

func taskState(t *testing.T, c interface {
	GetTask(context.Context, *a2a.GetTaskRequest) (*a2a.Task, error)
}, id a2a.TaskID) a2a.TaskState {
	t.Helper()
	got, err := c.GetTask(context.Background(), &a2a.GetTaskRequest{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	return got.Status.State
}

// waitExpired waits until key's lease has run out.
func waitExpired(t *testing.T, st store.ClaimStore, key string) {
	t.Helper()
	testenv.WaitFor(t, key+"'s lease to run out", 20*time.Millisecond, 10*time.Second, func() (bool, string) {
		c, err := st.GetClaim(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		return time.Now().After(c.ExpiresAt), "held until " + c.ExpiresAt.String()
	})
}
