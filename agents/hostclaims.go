package agents

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"

	"github.com/fixloop/fixloop/internal/store"
)

// taskLease is how long a running task stays with its replica once that replica stops renewing (it
// died); after it, another replica's resume sweep takes the task over. Replicas sharing one store
// therefore never resume (or fail) a task that a live replica is running.
const taskLease = 10 * time.Second

func taskClaimKey(id a2a.TaskID) string { return "a2a-task|" + string(id) }

// holdTask yields run's events while owner holds the task's claim (renewed meanwhile, released after).
func holdTask(ctx context.Context, st store.ClaimStore, id a2a.TaskID, owner string, run func(context.Context) iter.Seq2[a2a.Event, error]) iter.Seq2[a2a.Event, error] {
	return func(yield func(a2a.Event, error) bool) {
		stopped := false
		_, err := store.Hold(ctx, st, taskClaimKey(id), owner, taskLease, false, func(ctx context.Context) ([]byte, error) {
			for ev, err := range run(ctx) {
				if !yield(ev, err) {
					stopped = true
					break
				}
			}
			return nil, nil
		})
		if err != nil && !stopped {
			yield(nil, fmt.Errorf("task %s: %w", id, err))
		}
	}
}

// takeOver claims an unfinished task for a resume by owner. It refuses a task another live replica is
// running, and one never run yet that was just submitted (its replica is about to run it); a later
// sweep looks again.
func (h *Host) takeOver(ctx context.Context, t *a2a.Task, owner string) bool {
	c, won, err := h.cfg.Store.AcquireClaim(ctx, taskClaimKey(t.ID), owner, taskLease)
	if err != nil {
		h.log.Warn("could not claim an interrupted task; not resuming it now", "task", t.ID, "err", err)
		return false
	}
	if !won {
		return false
	}
	if c.Token == 1 && t.Status.Timestamp != nil && time.Since(*t.Status.Timestamp) < taskLease {
		h.releaseTask(ctx, t.ID, owner)
		return false
	}
	return true
}

func (h *Host) releaseTask(ctx context.Context, id a2a.TaskID, owner string) {
	if err := h.cfg.Store.ReleaseClaim(context.WithoutCancel(ctx), taskClaimKey(id), owner, false, nil); err != nil && !errors.Is(err, store.ErrClaimLost) {
		h.log.Warn("could not release a task claim", "task", id, "err", err)
	}
}

// KeepResuming runs Resume every taskLease until ctx ends, so a task whose replica died is resumed by
// a surviving one without waiting for a restart.
func (h *Host) KeepResuming(ctx context.Context) {
	tick := time.NewTicker(taskLease)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := h.Resume(ctx); err != nil {
				h.log.Warn("could not look for interrupted tasks", "err", err)
			}
		}
	}
}
