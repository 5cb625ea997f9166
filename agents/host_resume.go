package agents

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sort"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2asrv"
	"github.com/a2aproject/a2a-go/v2/a2asrv/taskstore"

	"github.com/fixloop/fixloop/internal/store"
)

// Resume handles tasks a previous process left submitted/working (and no live replica holds: see
// hostclaims.go): a Resumable agent re-executes them
// in the background from their first message (results land in the store, so GetTask then answers with
// the result); other tasks are marked failed. It returns at once; Wait blocks until resumed runs end.
func (h *Host) Resume(ctx context.Context) error {
	tasks, err := h.cfg.Store.UnfinishedTasks(ctx)
	if err != nil {
		return fmt.Errorf("agents: list interrupted tasks: %w", err)
	}
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].ID < tasks[j].ID })
	for _, t := range tasks {
		claimer := store.NewClaimOwner()
		if !h.takeOver(ctx, t, claimer) {
			continue // a live replica runs it
		}
		owner, err := h.cfg.Store.GetKV(ctx, agentKV, string(t.ID))
		h.mu.RLock()
		m := h.agents[string(owner)]
		h.mu.RUnlock()
		if err != nil || m == nil || !m.Resumable || len(t.History) == 0 {
			h.failInterrupted(ctx, t, "the fixloop server restarted while this task was running; send the request again")
			h.releaseTask(ctx, t.ID, claimer)
			continue
		}
		h.log.Info("resuming task interrupted by a restart", "agent", m.Name, "task", t.ID)
		h.wg.Add(1)
		go func(t *a2a.Task, m *mounted) {
			defer h.wg.Done()
			h.resume(ctx, t, m, claimer)
		}(t, m)
	}
	return nil
}

// Wait blocks until resumed tasks have finished.
func (h *Host) Wait() { h.wg.Wait() }

func (h *Host) failInterrupted(ctx context.Context, t *a2a.Task, reason string) {
	st, err := h.cfg.Store.Tasks().Get(ctx, t.ID)
	if err != nil {
		return
	}
	now := time.Now()
	st.Task.Status = a2a.TaskStatus{State: a2a.TaskStateFailed, Timestamp: &now,
		Message: a2a.NewMessageForTask(a2a.MessageRoleAgent, st.Task, a2a.NewTextPart(reason))}
	if _, err := h.cfg.Store.Tasks().Update(ctx, &taskstore.UpdateRequest{Task: st.Task, PrevVersion: st.Version}); err != nil {
		h.log.Warn("could not mark interrupted task failed", "task", t.ID, "err", err)
	}
}

// resume re-runs the executor and applies its events to the stored task the way a2a-go would.
func (h *Host) resume(ctx context.Context, t *a2a.Task, m *mounted, claimer string) {
	ec := &a2asrv.ExecutorContext{Message: t.History[0], TaskID: t.ID, StoredTask: t, ContextID: t.ContextID, Metadata: t.Metadata}
	ctx = h.ownerContext(ctx, t.ID)
	run := func(ctx context.Context) iter.Seq2[a2a.Event, error] { return m.Executor.Execute(ctx, ec) }
	for ev, err := range holdTask(ctx, h.cfg.Store, t.ID, claimer, run) {
		if err != nil {
			h.failInterrupted(ctx, t, "resumed after a restart, then failed: "+err.Error())
			return
		}
		if err := h.apply(ctx, t.ID, ev); err != nil {
			h.log.Warn("resumed task: could not persist event", "task", t.ID, "err", err)
			return
		}
	}
}

func (h *Host) apply(ctx context.Context, id a2a.TaskID, ev a2a.Event) error {
	for attempt := 0; attempt < 5; attempt++ {
		st, err := h.cfg.Store.Tasks().Get(ctx, id)
		if err != nil {
			return err
		}
		task := st.Task
		switch e := ev.(type) {
		case *a2a.TaskStatusUpdateEvent:
			if task.Status.Message != nil && e.Status.State != task.Status.State {
				task.History = append(task.History, task.Status.Message)
			}
			task.Status = e.Status
		case *a2a.TaskArtifactUpdateEvent:
			applyArtifact(task, e)
		case *a2a.Message:
			now := time.Now()
			task.Status = a2a.TaskStatus{State: a2a.TaskStateCompleted, Message: e, Timestamp: &now}
		case *a2a.Task:
			task = e
		default:
			return nil
		}
		_, err = h.cfg.Store.Tasks().Update(ctx, &taskstore.UpdateRequest{Task: task, Event: ev, PrevVersion: st.Version})
		if errors.Is(err, taskstore.ErrConcurrentModification) {
			continue
		}
		return err
	}
	return taskstore.ErrConcurrentModification
}

func applyArtifact(task *a2a.Task, e *a2a.TaskArtifactUpdateEvent) {
	for i, a := range task.Artifacts {
		if a.ID == e.Artifact.ID {
			if e.Append {
				a.Parts = append(a.Parts, e.Artifact.Parts...)
			} else {
				task.Artifacts[i] = e.Artifact
			}
			return
		}
	}
	task.Artifacts = append(task.Artifacts, e.Artifact)
}
