package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2asrv/taskstore"
)

func openTest(t *testing.T, dir string) *SQLite {
	t.Helper()
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestTaskStoreSurvivesReopen(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		msg := a2a.NewMessage(a2a.MessageRoleUser, a2a.NewTextPart("analyze"), a2a.NewDataPart(map[string]any{"rollout": "web"}))
		task := &a2a.Task{ID: "t1", ContextID: "c1", Status: a2a.TaskStatus{State: a2a.TaskStateSubmitted}, History: []*a2a.Message{msg}}
		v, err := s.Tasks().Create(ctx, task)
		if err != nil || v != 1 {
			t.Fatalf("Create = %v, %v", v, err)
		}
		if _, err := s.Tasks().Create(ctx, task); !errors.Is(err, taskstore.ErrTaskAlreadyExists) {
			t.Fatalf("duplicate Create err = %v", err)
		}
		task.Status.State = a2a.TaskStateWorking
		v2, err := s.Tasks().Update(ctx, &taskstore.UpdateRequest{Task: task, PrevVersion: v})
		if err != nil || v2 != 2 {
			t.Fatalf("Update = %v, %v", v2, err)
		}
		if _, err := s.Tasks().Update(ctx, &taskstore.UpdateRequest{Task: task, PrevVersion: v}); !errors.Is(err, taskstore.ErrConcurrentModification) {
			t.Fatalf("stale Update err = %v, want ErrConcurrentModification", err)
		}
		if _, err := s.Tasks().Update(ctx, &taskstore.UpdateRequest{Task: &a2a.Task{ID: "nope", ContextID: "c"}}); !errors.Is(err, a2a.ErrTaskNotFound) {
			t.Fatalf("Update missing err = %v", err)
		}
		unfinished, err := s.UnfinishedTasks(ctx)
		if err != nil || len(unfinished) != 1 || unfinished[0].ID != "t1" {
			t.Fatalf("UnfinishedTasks = %v, %v", unfinished, err)
		}
		task.Status.State = a2a.TaskStateCompleted
		task.Artifacts = []*a2a.Artifact{{ID: "a1", Parts: a2a.ContentParts{a2a.NewDataPart(map[string]any{"promote": false, "confidence": 90.0})}}}
		if _, err := s.Tasks().Update(ctx, &taskstore.UpdateRequest{Task: task, PrevVersion: v2}); err != nil {
			t.Fatal(err)
		}
		s.Close()

		s2 := open(t) // reopened: the same file or database
		got, err := s2.Tasks().Get(ctx, "t1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 3 || got.Task.Status.State != a2a.TaskStateCompleted || len(got.Task.Artifacts) != 1 {
			t.Fatalf("after reopen: version %d state %v artifacts %d", got.Version, got.Task.Status.State, len(got.Task.Artifacts))
		}
		data, ok := got.Task.Artifacts[0].Parts[0].Content.(a2a.Data)
		if !ok || data.Value.(map[string]any)["promote"] != false {
			t.Fatalf("artifact part did not round-trip: %#v", got.Task.Artifacts[0].Parts[0].Content)
		}
		if len(got.Task.History) != 1 || got.Task.History[0].Parts[1].Content.(a2a.Data).Value.(map[string]any)["rollout"] != "web" {
			t.Fatalf("history did not round-trip: %+v", got.Task.History)
		}
		if _, err := s2.Tasks().Get(ctx, "missing"); !errors.Is(err, a2a.ErrTaskNotFound) {
			t.Fatalf("Get missing err = %v", err)
		}
		if err := s2.PutKV(ctx, "agent", "t1", []byte("triage")); err != nil {
			t.Fatal(err)
		}
		if v, err := s2.GetKV(ctx, "agent", "t1"); err != nil || string(v) != "triage" {
			t.Fatalf("GetKV = %q, %v", v, err)
		}
		if _, err := s2.GetKV(ctx, "agent", "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetKV missing err = %v", err)
		}
		if n, _ := s2.SchemaVersion(ctx); n != len(s2.migrations) {
			t.Fatalf("schema version %d, want %d", n, len(s2.migrations))
		}
	})
}

func TestTaskListPaginatesNewestFirst(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		clock := time.Unix(1000, 0)
		s.tasks.now = func() time.Time { clock = clock.Add(time.Second); return clock }
		for i := range 7 {
			ctxID := "a"
			if i%2 == 1 {
				ctxID = "b"
			}
			if _, err := s.Tasks().Create(ctx, &a2a.Task{ID: a2a.TaskID(fmt.Sprintf("t%d", i)), ContextID: ctxID, Status: a2a.TaskStatus{State: a2a.TaskStateCompleted}}); err != nil {
				t.Fatal(err)
			}
		}
		var ids []a2a.TaskID
		tok := ""
		for range 10 {
			resp, err := s.Tasks().List(ctx, &a2a.ListTasksRequest{PageSize: 3, PageToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			if resp.TotalSize != 7 {
				t.Fatalf("TotalSize = %d", resp.TotalSize)
			}
			for _, tk := range resp.Tasks {
				ids = append(ids, tk.ID)
			}
			if tok = resp.NextPageToken; tok == "" {
				break
			}
		}
		if fmt.Sprint(ids) != "[t6 t5 t4 t3 t2 t1 t0]" {
			t.Fatalf("pages = %v", ids)
		}
		resp, err := s.Tasks().List(ctx, &a2a.ListTasksRequest{ContextID: "b"})
		if err != nil || len(resp.Tasks) != 3 {
			t.Fatalf("context filter: %v %v", resp, err)
		}
		if _, err := s.Tasks().List(ctx, &a2a.ListTasksRequest{PageToken: "!!"}); err == nil {
			t.Fatal("bad page token accepted")
		}
	})
}

func TestIssuesAndFixerSessions(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		if _, err := s.GetIssue(ctx, "fp1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetIssue missing err = %v", err)
		}
		rec := IssueRecord{Fingerprint: "fp1", Repo: "o/r", Number: 7, URL: "u", State: "open", Occurrences: 1}
		if err := s.PutIssue(ctx, rec); err != nil {
			t.Fatal(err)
		}
		rec.Occurrences = 2
		if err := s.PutIssue(ctx, rec); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetIssue(ctx, "fp1")
		if err != nil || got.Number != 7 || got.Occurrences != 2 {
			t.Fatalf("GetIssue = %+v, %v", got, err)
		}

		if err := s.PutFixerSession(ctx, FixerSession{Fingerprint: "fp1", SessionID: "ses_1", Branch: "fixloop/fp1"}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.AppendFixerStep(ctx, "fp1", FixerStep{Name: fmt.Sprintf("step%d", i), OK: true}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		fs, err := s.GetFixerSession(ctx, "fp1")
		if err != nil || len(fs.Steps) != 20 || fs.SessionID != "ses_1" || fs.CreatedAt.IsZero() {
			t.Fatalf("session = %+v, %v (concurrent appends must not be lost)", fs, err)
		}
		fs.PRURL = "http://pr/1"
		if err := s.PutFixerSession(ctx, *fs); err != nil {
			t.Fatal(err)
		}
		all, _ := s.ListFixerSessions(ctx)
		if len(all) != 1 || all[0].PRURL != "http://pr/1" || len(all[0].Steps) != 20 {
			t.Fatalf("ListFixerSessions = %+v", all)
		}
	})
}

// The analysis cache is per asking run: another run of the same revision (a retried AnalysisRun, a
// re-created rollout) never reads an earlier verdict. Who runs an analysis is a claim (claims.go).
func TestAnalysisCachedPerRun(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		k := AnalysisKey{Namespace: "ns", Rollout: "web", CanaryHash: "abc", Run: "uid-1/web-abc-1"}
		if err := s.PutAnalysis(ctx, Analysis{Key: k, Status: AnalysisDone, Result: []byte(`{"promote":true}`)}); err != nil {
			t.Fatal(err)
		}
		if a, err := s.GetAnalysis(ctx, k); err != nil || a.Status != AnalysisDone || string(a.Result) != `{"promote":true}` {
			t.Fatalf("cached verdict: %+v %v", a, err)
		}
		for _, run := range []string{"", "uid-1/web-abc-2", "uid-2/web-abc-1"} {
			other := k
			other.Run = run
			if a, err := s.GetAnalysis(ctx, other); !errors.Is(err, ErrNotFound) {
				t.Fatalf("run %q read %+v (%v), want none", run, a, err)
			}
		}
	})
}
