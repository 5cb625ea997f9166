package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2asrv/taskstore"
)

// taskStore implements a2a-go's taskstore.Store over the a2a_tasks table. Tasks are stored as their A2A
// JSON, with an optimistic version for the handler's concurrent-modification check.
type taskStore struct {
	db      *sql.DB
	dialect *dialect
	now     func() time.Time
	// Authenticator, when set, scopes List to the calling user (like a2a-go's in-memory store).
	Authenticator taskstore.Authenticator
	// seesAll, when set and true for a caller, lifts that scoping (an admin).
	seesAll func(context.Context) bool
}

var _ taskstore.Store = (*taskStore)(nil)

func (s *taskStore) owner(ctx context.Context) string {
	if s.Authenticator == nil {
		return ""
	}
	u, err := s.Authenticator(ctx)
	if err != nil {
		return ""
	}
	return u
}

func (s *taskStore) Create(ctx context.Context, task *a2a.Task) (taskstore.TaskVersion, error) {
	if task == nil || task.ID == "" {
		return taskstore.TaskVersionMissing, fmt.Errorf("store: task without id: %w", a2a.ErrInvalidParams)
	}
	data, err := json.Marshal(task)
	if err != nil {
		return taskstore.TaskVersionMissing, fmt.Errorf("store: encode task %s: %w", task.ID, err)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO a2a_tasks(id, context_id, state, version, owner, data, updated_at)
		VALUES (?, ?, ?, 1, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
		string(task.ID), task.ContextID, string(task.Status.State), s.owner(ctx), string(data), s.now().UnixNano())
	if err != nil {
		return taskstore.TaskVersionMissing, fmt.Errorf("store: create task %s: %w", task.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return taskstore.TaskVersionMissing, taskstore.ErrTaskAlreadyExists
	}
	return 1, nil
}

func (s *taskStore) Update(ctx context.Context, req *taskstore.UpdateRequest) (taskstore.TaskVersion, error) {
	if req == nil || req.Task == nil {
		return taskstore.TaskVersionMissing, fmt.Errorf("store: empty task update: %w", a2a.ErrInvalidParams)
	}
	data, err := json.Marshal(req.Task)
	if err != nil {
		return taskstore.TaskVersionMissing, fmt.Errorf("store: encode task %s: %w", req.Task.ID, err)
	}
	var version int64
	err = func() error {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if err := s.dialect.lockKey(ctx, tx, "a2a_tasks|"+string(req.Task.ID)); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT version FROM a2a_tasks WHERE id = ?`, string(req.Task.ID)).Scan(&version); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return a2a.ErrTaskNotFound
			}
			return err
		}
		if req.PrevVersion != taskstore.TaskVersionMissing && taskstore.TaskVersion(version) != req.PrevVersion {
			return taskstore.ErrConcurrentModification
		}
		version++
		if _, err := tx.ExecContext(ctx, `UPDATE a2a_tasks SET context_id = ?, state = ?, version = ?, data = ?, updated_at = ? WHERE id = ?`,
			req.Task.ContextID, string(req.Task.Status.State), version, string(data), s.now().UnixNano(), string(req.Task.ID)); err != nil {
			return err
		}
		return tx.Commit()
	}()
	if err != nil {
		return taskstore.TaskVersionMissing, err
	}
	return taskstore.TaskVersion(version), nil
}

func (s *taskStore) Get(ctx context.Context, id a2a.TaskID) (*taskstore.StoredTask, error) {
	var data string
	var version int64
	err := s.db.QueryRowContext(ctx, `SELECT data, version FROM a2a_tasks WHERE id = ?`, string(id)).Scan(&data, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, a2a.ErrTaskNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get task %s: %w", id, err)
	}
	var t a2a.Task
	if err := json.Unmarshal([]byte(data), &t); err != nil {
		return nil, fmt.Errorf("store: corrupt task %s: %w", id, err)
	}
	return &taskstore.StoredTask{Task: &t, Version: taskstore.TaskVersion(version)}, nil
}

// List pages through the tasks newest first. Every filter (owner, context, state, status timestamp) is
// applied in SQL before counting and paging, so totalSize and the pages agree with what is returned.
func (s *taskStore) List(ctx context.Context, req *a2a.ListTasksRequest) (*a2a.ListTasksResponse, error) {
	if req == nil {
		req = &a2a.ListTasksRequest{}
	}
	if err := CheckListTasks(req); err != nil {
		return nil, err
	}
	pageSize := req.PageSize
	if pageSize == 0 {
		pageSize = 50
	}
	where, args, err := s.listFilter(ctx, req)
	if err != nil {
		return nil, err
	}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM a2a_tasks WHERE `+strings.Join(where, " AND "), args...).Scan(&total); err != nil {
		return nil, err
	}
	if req.PageToken != "" {
		ts, id, err := decodePageToken(req.PageToken)
		if err != nil {
			return nil, err
		}
		where = append(where, "(updated_at < ? OR (updated_at = ? AND id < ?))")
		args = append(args, ts, ts, id)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, data, updated_at FROM a2a_tasks WHERE `+strings.Join(where, " AND ")+
		` ORDER BY updated_at DESC, id DESC LIMIT ?`, append(args, pageSize+1)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	resp := &a2a.ListTasksResponse{Tasks: []*a2a.Task{}, TotalSize: total}
	var lastTS int64
	var lastID string
	for rows.Next() {
		var id, data string
		var ts int64
		if err := rows.Scan(&id, &data, &ts); err != nil {
			return nil, err
		}
		if len(resp.Tasks) == pageSize {
			resp.NextPageToken = encodePageToken(lastTS, lastID)
			break
		}
		var t a2a.Task
		if err := json.Unmarshal([]byte(data), &t); err != nil {
			return nil, fmt.Errorf("store: corrupt task %s: %w", id, err)
		}
		trimListed(&t, req)
		resp.Tasks = append(resp.Tasks, &t)
		lastTS, lastID = ts, id
	}
	resp.PageSize = len(resp.Tasks) // the spec's pageSize is the number of tasks in this page
	return resp, rows.Err()
}

func (s *taskStore) listFilter(ctx context.Context, req *a2a.ListTasksRequest) ([]string, []any, error) {
	where := []string{"1=1"}
	var args []any
	if s.Authenticator != nil && (s.seesAll == nil || !s.seesAll(ctx)) {
		u, err := s.Authenticator(ctx)
		if u == "" || err != nil {
			return nil, nil, a2a.ErrUnauthenticated
		}
		where, args = append(where, "owner = ?"), append(args, u)
	}
	if req.ContextID != "" {
		where, args = append(where, "context_id = ?"), append(args, req.ContextID)
	}
	if req.Status != a2a.TaskStateUnspecified {
		where, args = append(where, "state = ?"), append(args, string(req.Status))
	}
	if req.StatusTimestampAfter != nil {
		// Status timestamps are RFC 3339 in the task JSON; the database compares them as instants.
		where = append(where, s.dialect.statusAfter)
		args = append(args, float64(req.StatusTimestampAfter.UnixNano())/1e9)
	}
	return where, args, nil
}

func trimListed(t *a2a.Task, req *a2a.ListTasksRequest) {
	if !req.IncludeArtifacts {
		t.Artifacts = nil
	}
	if req.HistoryLength != nil && len(t.History) > *req.HistoryLength {
		t.History = t.History[len(t.History)-*req.HistoryLength:]
	}
}

var knownStates = []a2a.TaskState{a2a.TaskStateSubmitted, a2a.TaskStateWorking, a2a.TaskStateInputRequired, a2a.TaskStateAuthRequired,
	a2a.TaskStateCompleted, a2a.TaskStateFailed, a2a.TaskStateCanceled, a2a.TaskStateRejected}

// CheckListTasks rejects parameters the spec calls invalid (a2a.ErrInvalidParams, JSON-RPC -32602).
func CheckListTasks(req *a2a.ListTasksRequest) error {
	if req.PageSize < 0 || req.PageSize > 100 {
		return fmt.Errorf("pageSize must be between 1 and 100, got %d: %w", req.PageSize, a2a.ErrInvalidParams)
	}
	if req.HistoryLength != nil && *req.HistoryLength < 0 {
		return fmt.Errorf("historyLength must not be negative, got %d: %w", *req.HistoryLength, a2a.ErrInvalidParams)
	}
	if req.Status != a2a.TaskStateUnspecified && !slices.Contains(knownStates, req.Status) {
		return fmt.Errorf("unknown status %q (known: %v): %w", req.Status, knownStates, a2a.ErrInvalidParams)
	}
	if req.PageToken != "" {
		if _, _, err := decodePageToken(req.PageToken); err != nil {
			return err
		}
	}
	return nil
}

func encodePageToken(ts int64, id string) string {
	return base64.URLEncoding.EncodeToString([]byte(strconv.FormatInt(ts, 10) + "_" + id))
}

func decodePageToken(tok string) (int64, string, error) {
	b, err := base64.URLEncoding.DecodeString(tok)
	if err != nil {
		return 0, "", fmt.Errorf("pageToken is not one this server issued: %w", a2a.ErrInvalidParams)
	}
	tsStr, id, ok := strings.Cut(string(b), "_")
	ts, err := strconv.ParseInt(tsStr, 10, 64)
	if !ok || err != nil {
		return 0, "", fmt.Errorf("pageToken is not one this server issued: %w", a2a.ErrInvalidParams)
	}
	return ts, id, nil
}

// UnfinishedTasks lists tasks that are neither terminal nor waiting for input: after a restart these were
// interrupted mid-execution and the host can resume or fail them.
func (s *SQLStore) UnfinishedTasks(ctx context.Context) ([]*a2a.Task, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT data FROM a2a_tasks WHERE state IN (?, ?) ORDER BY updated_at`,
		string(a2a.TaskStateSubmitted), string(a2a.TaskStateWorking))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*a2a.Task
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		var t a2a.Task
		if err := json.Unmarshal([]byte(data), &t); err != nil {
			return nil, err
		}
		out = append(out, &t)
	}
	return out, rows.Err()
}

// TaskScoper is implemented by stores that record who created each A2A task, so the agent host can
// show and cancel a task for its creator only, and bound how many tasks are kept.
type TaskScoper interface {
	// ScopeTasks makes task creation record owner(ctx) and List return only the caller's tasks, or
	// every task when seesAll(ctx).
	ScopeTasks(owner func(context.Context) string, seesAll func(context.Context) bool)
	// TaskOwner is the recorded creator of a task ("" for tasks created before owners were recorded).
	TaskOwner(ctx context.Context, id a2a.TaskID) (string, error)
	// PruneTasks deletes finished tasks last updated before maxAge ago, then the oldest finished ones
	// beyond maxCount tasks in all (0 disables either bound), and returns how many it deleted.
	PruneTasks(ctx context.Context, maxAge time.Duration, maxCount int) (int, error)
}

var _ TaskScoper = (*SQLStore)(nil)

// ScopeTasks implements TaskScoper.
func (s *SQLStore) ScopeTasks(owner func(context.Context) string, seesAll func(context.Context) bool) {
	s.tasks.Authenticator = func(ctx context.Context) (string, error) { return owner(ctx), nil }
	s.tasks.seesAll = seesAll
}

// TaskOwner implements TaskScoper.
func (s *SQLStore) TaskOwner(ctx context.Context, id a2a.TaskID) (string, error) {
	var owner string
	err := s.db.QueryRowContext(ctx, `SELECT owner FROM a2a_tasks WHERE id = ?`, string(id)).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) {
		return "", a2a.ErrTaskNotFound
	}
	return owner, err
}

// finishedStates are the task states PruneTasks may delete (never a running or waiting task).
var finishedStates = []any{string(a2a.TaskStateCompleted), string(a2a.TaskStateFailed), string(a2a.TaskStateCanceled), string(a2a.TaskStateRejected)}

// PruneTasks implements TaskScoper. Records keyed by task id in the kv table's "a2a-task-*"
// namespaces go with their task.
func (s *SQLStore) PruneTasks(ctx context.Context, maxAge time.Duration, maxCount int) (int, error) {
	deleted := 0
	in := `state IN (?, ?, ?, ?)`
	if maxAge > 0 {
		args := append(append([]any(nil), finishedStates...), s.now().Add(-maxAge).UnixNano())
		res, err := s.db.ExecContext(ctx, `DELETE FROM a2a_tasks WHERE `+in+` AND updated_at < ?`, args...)
		if err != nil {
			return 0, fmt.Errorf("store: prune tasks by age: %w", err)
		}
		n, _ := res.RowsAffected()
		deleted += int(n)
	}
	if maxCount > 0 {
		args := append(append([]any(nil), finishedStates...), maxCount)
		res, err := s.db.ExecContext(ctx, `DELETE FROM a2a_tasks WHERE `+in+` AND id NOT IN
			(SELECT id FROM a2a_tasks ORDER BY updated_at DESC, id DESC LIMIT ?)`, args...)
		if err != nil {
			return deleted, fmt.Errorf("store: prune tasks by count: %w", err)
		}
		n, _ := res.RowsAffected()
		deleted += int(n)
	}
	if deleted > 0 {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM kv WHERE ns LIKE 'a2a-task-%' AND key NOT IN (SELECT id FROM a2a_tasks)`); err != nil {
			return deleted, fmt.Errorf("store: prune task records: %w", err)
		}
		// A task's claim (agents/hostclaims.go: "a2a-task|<id>") goes too, unless someone holds it.
		if _, err := s.db.ExecContext(ctx, `DELETE FROM claims WHERE key LIKE 'a2a-task|%' AND held = 0
			AND substr(key, 10) NOT IN (SELECT id FROM a2a_tasks)`); err != nil {
			return deleted, fmt.Errorf("store: prune task claims: %w", err)
		}
	}
	return deleted, nil
}
