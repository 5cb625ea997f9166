package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
)

// Filters run before counting and paging: totalSize counts only tasks after statusTimestampAfter, and a
// page is not cut short by tasks the filter drops (the old code counted first and filtered the page).
func TestTaskListTimeFilterCountsAndPagesFilteredTasks(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range 6 {
			ts := base.Add(time.Duration(i) * time.Minute).Add(123456789 * time.Nanosecond)
			// Older status timestamps are written last, so they come first in the updated_at order.
			s.tasks.now = func() time.Time { return base.Add(time.Hour - time.Duration(i)*time.Second) }
			task := &a2a.Task{ID: a2a.TaskID(fmt.Sprintf("t%d", i)), ContextID: "c", Status: a2a.TaskStatus{State: a2a.TaskStateCompleted, Timestamp: &ts}}
			if _, err := s.Tasks().Create(ctx, task); err != nil {
				t.Fatal(err)
			}
		}
		after := base.Add(2*time.Minute + 500*time.Millisecond) // t3, t4, t5 are after it
		resp, err := s.Tasks().List(ctx, &a2a.ListTasksRequest{StatusTimestampAfter: &after, PageSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		if resp.TotalSize != 3 || len(resp.Tasks) != 2 || resp.PageSize != 2 || resp.NextPageToken == "" {
			t.Fatalf("first page: total=%d tasks=%d pageSize=%d next=%q", resp.TotalSize, len(resp.Tasks), resp.PageSize, resp.NextPageToken)
		}
		next, err := s.Tasks().List(ctx, &a2a.ListTasksRequest{StatusTimestampAfter: &after, PageSize: 2, PageToken: resp.NextPageToken})
		if err != nil || len(next.Tasks) != 1 || next.NextPageToken != "" || next.TotalSize != 3 {
			t.Fatalf("second page: %+v %v", next, err)
		}
		for _, tk := range append(resp.Tasks, next.Tasks...) {
			if !tk.Status.Timestamp.After(after) {
				t.Fatalf("task %s at %s listed though not after %s", tk.ID, tk.Status.Timestamp, after)
			}
		}
		empty, err := s.Tasks().List(ctx, &a2a.ListTasksRequest{Status: a2a.TaskStateWorking})
		if err != nil || empty.TotalSize != 0 || empty.PageSize != 0 || len(empty.Tasks) != 0 {
			t.Fatalf("empty list: %+v %v", empty, err)
		}
	})
}

func TestTaskListRefusesInvalidParams(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		s := open(t)
		neg := -1
		for name, req := range map[string]*a2a.ListTasksRequest{
			"negative page size":     {PageSize: -1},
			"page size above 100":    {PageSize: 101},
			"negative historyLength": {HistoryLength: &neg},
			"unknown status":         {Status: "TASK_STATE_SLEEPING"},
			"foreign page token":     {PageToken: "!!"},
		} {
			if _, err := s.Tasks().List(context.Background(), req); !errors.Is(err, a2a.ErrInvalidParams) {
				t.Errorf("%s: err = %v, want invalid params", name, err)
			}
		}
	})
}
