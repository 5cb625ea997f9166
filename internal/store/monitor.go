package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// MonitorStore keeps the health monitor's durable workflow: runs, the result of each named step, the
// findings of each run and the side effects taken (keyed so a resumed run never repeats one).
type MonitorStore interface {
	PutMonitorRun(ctx context.Context, r MonitorRun) error
	GetMonitorRun(ctx context.Context, id string) (*MonitorRun, error)
	// ListMonitorRuns returns the newest runs first (limit <= 0: 50).
	ListMonitorRuns(ctx context.Context, limit int) ([]MonitorRun, error)
	// UnfinishedMonitorRuns lists runs left running (their process died or lost the lease).
	UnfinishedMonitorRuns(ctx context.Context) ([]MonitorRun, error)

	PutMonitorStep(ctx context.Context, s MonitorStep) error
	ListMonitorSteps(ctx context.Context, runID string) ([]MonitorStep, error)

	// PutMonitorFindings replaces the findings of one run.
	PutMonitorFindings(ctx context.Context, runID string, fs []MonitorFinding) error
	ListMonitorFindings(ctx context.Context, runID string) ([]MonitorFinding, error)

	// PutMonitorAction records a side effect taken (or being taken); who takes it is a claim
	// (ClaimStore), held while it runs, like every other piece of work done once across replicas.
	PutMonitorAction(ctx context.Context, a MonitorAction) error
	// ListMonitorActions lists actions of one run, or all of them (newest first) when runID is empty.
	ListMonitorActions(ctx context.Context, runID string) ([]MonitorAction, error)
}

// Monitor run and step states.
const (
	MonitorRunning = "running"
	MonitorDone    = "done"
	MonitorFailed  = "failed"
)

// MonitorRun is one scheduled pass over the selected workloads.
type MonitorRun struct {
	ID         string    `json:"id"`
	Status     string    `json:"status"` // running|done|failed
	Window     string    `json:"window"`
	Owner      string    `json:"owner,omitempty"` // identity of the process that last ran it
	Error      string    `json:"error,omitempty"`
	StartedAt  time.Time `json:"startedAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
}

// MonitorStep is one named step of a run and its persisted result.
type MonitorStep struct {
	RunID      string          `json:"runId"`
	Name       string          `json:"name"`
	Status     string          `json:"status"` // running|done|failed
	Attempts   int             `json:"attempts"`
	Error      string          `json:"error,omitempty"`
	Result     json.RawMessage `json:"result,omitempty"`
	StartedAt  time.Time       `json:"startedAt"`
	FinishedAt time.Time       `json:"finishedAt,omitzero"`
}

// MonitorFinding is one check of one workload in one run.
type MonitorFinding struct {
	RunID       string    `json:"runId"`
	Namespace   string    `json:"namespace"`
	Workload    string    `json:"workload"` // kind/name
	Check       string    `json:"check"`
	Severity    string    `json:"severity"` // ok|warning|critical|skipped|unknown
	Value       string    `json:"value,omitempty"`
	Threshold   string    `json:"threshold,omitempty"`
	Evidence    string    `json:"evidence,omitempty"`
	Streak      int       `json:"streak"`             // consecutive runs this check has been warning or worse
	Decision    string    `json:"decision,omitempty"` // act|wait|cooldown|capped|ok
	Fingerprint string    `json:"fingerprint,omitempty"`
	At          time.Time `json:"at"`
}

// MonitorAction is a side effect (issue, fix) taken by a run, keyed for idempotency.
type MonitorAction struct {
	Key       string    `json:"key"`
	RunID     string    `json:"runId"`
	Kind      string    `json:"kind"` // issue|fix
	Namespace string    `json:"namespace"`
	Workload  string    `json:"workload"`
	Status    string    `json:"status"`        // running|done|failed
	Ref       string    `json:"ref,omitempty"` // issue URL, fixer task id
	Error     string    `json:"error,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// PutMonitorRun implements MonitorStore (insert or replace).
func (s *SQLStore) PutMonitorRun(ctx context.Context, r MonitorRun) error {
	if r.ID == "" {
		return errors.New("store: monitor run without id")
	}
	data, _ := json.Marshal(r)
	_, err := s.db.ExecContext(ctx, `INSERT INTO monitor_runs(id, status, started_at, data) VALUES (?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET status = excluded.status, data = excluded.data`, r.ID, r.Status, r.StartedAt.UnixNano(), string(data))
	return err
}

// GetMonitorRun implements MonitorStore.
func (s *SQLStore) GetMonitorRun(ctx context.Context, id string) (*MonitorRun, error) {
	return getDoc[MonitorRun](ctx, s.db, `SELECT data FROM monitor_runs WHERE id = ?`, id)
}

// ListMonitorRuns implements MonitorStore.
func (s *SQLStore) ListMonitorRuns(ctx context.Context, limit int) ([]MonitorRun, error) {
	if limit <= 0 {
		limit = 50
	}
	return queryDocs[MonitorRun](ctx, s.db, `SELECT data FROM monitor_runs ORDER BY started_at DESC, id DESC LIMIT ?`, limit)
}

// UnfinishedMonitorRuns implements MonitorStore.
func (s *SQLStore) UnfinishedMonitorRuns(ctx context.Context) ([]MonitorRun, error) {
	return queryDocs[MonitorRun](ctx, s.db, `SELECT data FROM monitor_runs WHERE status = ? ORDER BY started_at`, MonitorRunning)
}

// PutMonitorStep implements MonitorStore (insert or replace; the first insert fixes the step's order).
func (s *SQLStore) PutMonitorStep(ctx context.Context, st MonitorStep) error {
	if st.RunID == "" || st.Name == "" {
		return errors.New("store: monitor step without run id or name")
	}
	data, _ := json.Marshal(st)
	_, err := s.db.ExecContext(ctx, `INSERT INTO monitor_steps(run_id, name, seq, data)
		VALUES (?, ?, (SELECT COUNT(*) FROM monitor_steps WHERE run_id = ?), ?)
		ON CONFLICT(run_id, name) DO UPDATE SET data = excluded.data`, st.RunID, st.Name, st.RunID, string(data))
	return err
}

// ListMonitorSteps implements MonitorStore, in the order the steps started.
func (s *SQLStore) ListMonitorSteps(ctx context.Context, runID string) ([]MonitorStep, error) {
	return queryDocs[MonitorStep](ctx, s.db, `SELECT data FROM monitor_steps WHERE run_id = ? ORDER BY seq`, runID)
}

// PutMonitorFindings implements MonitorStore.
func (s *SQLStore) PutMonitorFindings(ctx context.Context, runID string, fs []MonitorFinding) error {
	return s.lockedTx(ctx, "monitor_findings|"+runID, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM monitor_findings WHERE run_id = ?`, runID); err != nil {
			return err
		}
		for i, f := range fs {
			data, _ := json.Marshal(f)
			if _, err := tx.ExecContext(ctx, `INSERT INTO monitor_findings(run_id, seq, data) VALUES (?, ?, ?)`, runID, i, string(data)); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListMonitorFindings implements MonitorStore.
func (s *SQLStore) ListMonitorFindings(ctx context.Context, runID string) ([]MonitorFinding, error) {
	return queryDocs[MonitorFinding](ctx, s.db, `SELECT data FROM monitor_findings WHERE run_id = ? ORDER BY seq`, runID)
}

// PutMonitorAction implements MonitorStore.
func (s *SQLStore) PutMonitorAction(ctx context.Context, a MonitorAction) error {
	if a.Key == "" {
		return errors.New("store: monitor action without key")
	}
	a.UpdatedAt = s.now().UTC()
	if a.CreatedAt.IsZero() {
		a.CreatedAt = a.UpdatedAt
	}
	data, _ := json.Marshal(a)
	_, err := s.db.ExecContext(ctx, `INSERT INTO monitor_actions(key, run_id, created_at, data) VALUES (?, ?, ?, ?)
		ON CONFLICT(key) DO UPDATE SET data = excluded.data`, a.Key, a.RunID, a.CreatedAt.UnixNano(), string(data))
	return err
}

// ListMonitorActions implements MonitorStore.
func (s *SQLStore) ListMonitorActions(ctx context.Context, runID string) ([]MonitorAction, error) {
	if runID == "" {
		return queryDocs[MonitorAction](ctx, s.db, `SELECT data FROM monitor_actions ORDER BY created_at DESC LIMIT 500`)
	}
	return queryDocs[MonitorAction](ctx, s.db, `SELECT data FROM monitor_actions WHERE run_id = ? ORDER BY created_at`, runID)
}

func queryDocs[T any](ctx context.Context, db *sql.DB, query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		var v T
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			return nil, fmt.Errorf("store: corrupt record: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
