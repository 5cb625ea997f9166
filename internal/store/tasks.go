package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2asrv/taskstore"
)

// taskStore implements a2a-go's taskstore.Store over the a2a_tasks table. Tasks are stored as their A2A
// JSON, with an optimistic version for the handler's concurrent-modification check.
type taskStore struct {
	db  *sql.DB
	now func() time.Time
	// Authenticator, when set, scopes List to the calling user (like a2a-go's in-memory store).
	Authenticator taskstore.Authenticator
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

func (s *taskStore) List(ctx context.Context, req *a2a.ListTasksRequest) (*a2a.ListTasksResponse, error) {
	if req == nil {
		req = &a2a.ListTasksRequest{}
	}
	pageSize := req.PageSize
	if pageSize == 0 {
		pageSize = 50
	} else if pageSize < 1 || pageSize > 100 {
		return nil, fmt.Errorf("page size must be between 1 and 100 inclusive, got %d: %w", pageSize, a2a.ErrInvalidRequest)
	}
	where := []string{"1=1"}
	var args []any
	if s.Authenticator != nil {
		u, err := s.Authenticator(ctx)
		if u == "" || err != nil {
			return nil, a2a.ErrUnauthenticated
		}
		where, args = append(where, "owner = ?"), append(args, u)
	}
	if req.ContextID != "" {
		where, args = append(where, "context_id = ?"), append(args, req.ContextID)
	}
	if req.Status != a2a.TaskStateUnspecified {
		where, args = append(where, "state = ?"), append(args, string(req.Status))
	}
	filterWhere, filterArgs := strings.Join(where, " AND "), append([]any(nil), args...)
	if req.PageToken != "" {
		ts, id, err := decodePageToken(req.PageToken)
		if err != nil {
			return nil, err
		}
		where = append(where, "(updated_at < ? OR (updated_at = ? AND id < ?))")
		args = append(args, ts, ts, id)
	}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM a2a_tasks WHERE `+filterWhere, filterArgs...).Scan(&total); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, data, updated_at FROM a2a_tasks WHERE `+strings.Join(where, " AND ")+
		` ORDER BY updated_at DESC, id DESC LIMIT ?`, append(args, pageSize+1)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	resp := &a2a.ListTasksResponse{Tasks: []*a2a.Task{}, TotalSize: total, PageSize: pageSize}
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
		if req.StatusTimestampAfter != nil && t.Status.Timestamp != nil && t.Status.Timestamp.Before(*req.StatusTimestampAfter) {
			continue
		}
		if !req.IncludeArtifacts {
			t.Artifacts = nil
		}
		if req.HistoryLength != nil {
			if n := *req.HistoryLength; n >= 0 && len(t.History) > n {
				t.History = t.History[len(t.History)-n:]
			}
		}
		resp.Tasks = append(resp.Tasks, &t)
		lastTS, lastID = ts, id
	}
	return resp, rows.Err()
}

func encodePageToken(ts int64, id string) string {
	return base64.URLEncoding.EncodeToString([]byte(strconv.FormatInt(ts, 10) + "_" + id))
}

func decodePageToken(tok string) (int64, string, error) {
	b, err := base64.URLEncoding.DecodeString(tok)
	if err != nil {
		return 0, "", a2a.ErrParseError
	}
	tsStr, id, ok := strings.Cut(string(b), "_")
	ts, err := strconv.ParseInt(tsStr, 10, 64)
	if !ok || err != nil {
		return 0, "", a2a.ErrParseError
	}
	return ts, id, nil
}

// UnfinishedTasks lists tasks that are neither terminal nor waiting for input: after a restart these were
// interrupted mid-execution and the host can resume or fail them.
func (s *SQLite) UnfinishedTasks(ctx context.Context) ([]*a2a.Task, error) {
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
