package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2asrv/taskstore"
)

// BenchmarkTaskLifecycle: create a task and apply the four updates a typical analysis makes
// (working, progress, artifact, completed), as a2a-go does through the task store.
func BenchmarkTaskLifecycle(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	msg := a2a.NewMessage(a2a.MessageRoleUser, a2a.NewDataPart(map[string]any{"namespace": "shop", "rollout": "web"}))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		t := &a2a.Task{ID: a2a.TaskID(fmt.Sprint("t", i)), ContextID: "c", Status: a2a.TaskStatus{State: a2a.TaskStateSubmitted}, History: []*a2a.Message{msg}}
		v, err := s.Tasks().Create(ctx, t)
		if err != nil {
			b.Fatal(err)
		}
		for _, st := range []a2a.TaskState{a2a.TaskStateWorking, a2a.TaskStateWorking, a2a.TaskStateWorking, a2a.TaskStateCompleted} {
			t.Status.State = st
			if v, err = s.Tasks().Update(ctx, &taskstore.UpdateRequest{Task: t, PrevVersion: v}); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkGetTask(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	t := &a2a.Task{ID: "t", ContextID: "c", Status: a2a.TaskStatus{State: a2a.TaskStateCompleted},
		Artifacts: []*a2a.Artifact{{ID: "a", Parts: a2a.ContentParts{a2a.NewDataPart(map[string]any{"verdict": "abort", "confidence": 99.0})}}}}
	if _, err := s.Tasks().Create(ctx, t); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Tasks().Get(ctx, "t"); err != nil {
			b.Fatal(err)
		}
	}
}
