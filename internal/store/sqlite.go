package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2asrv/taskstore"
	_ "modernc.org/sqlite" // pure-Go driver "sqlite"
)

// DBFileName is the database file created inside the state directory.
const DBFileName = "fixloop.db"

// SQLStore is the Store over database/sql: one SQLite file (WAL mode, the zero-setup default) or a
// PostgreSQL database shared by several replicas (OpenPostgres). The SQL is common; the dialect holds
// the few differences (schema types, JSON functions, per-key locking).
type SQLStore struct {
	db      *sql.DB
	dialect *dialect
	// migrations are the schema steps in this dialect, applied in order (schema.go).
	migrations []string
	tasks      *taskStore
	now        func() time.Time
	// slackPruned is when expired Slack records were last deleted (Unix ns; slack.go).
	slackPruned atomic.Int64
}

// SQLite is the name callers and tests have always used for the store type.
type SQLite = SQLStore

var _ Store = (*SQLStore)(nil)

// OpenConfigured opens the store a user configured: storeURL postgres://… (or postgresql://…) selects
// PostgreSQL; empty selects SQLite in stateDir.
func OpenConfigured(ctx context.Context, storeURL, stateDir string) (*SQLStore, error) {
	if storeURL == "" {
		return Open(ctx, stateDir)
	}
	if IsPostgresURL(storeURL) {
		return OpenPostgres(ctx, storeURL)
	}
	return nil, errors.New("store: --store must be a postgres:// or postgresql:// URL (empty: SQLite in the state directory)")
}

// Open opens (creating if needed) the database in stateDir and applies migrations.
func Open(ctx context.Context, stateDir string) (*SQLStore, error) {
	if stateDir == "" {
		return nil, errors.New("store: empty state directory (set --state-dir or FIXLOOP_STATE_DIR)")
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create state directory %s: %w", stateDir, err)
	}
	return OpenFile(ctx, filepath.Join(stateDir, DBFileName))
}

// OpenFile opens the database at path.
func OpenFile(ctx context.Context, path string) (*SQLStore, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	// BEGIN IMMEDIATE: a writer takes the lock up front, so two writers wait (busy_timeout) instead of
	// failing with SQLITE_BUSY when upgrading a read transaction.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	return openSQL(ctx, db, sqliteDialect, path)
}

// openSQL migrates db and wraps it; where names the database in errors (never a password).
func openSQL(ctx context.Context, db *sql.DB, d *dialect, where string) (*SQLStore, error) {
	ms, err := schemaMigrations(d)
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &SQLStore{db: db, dialect: d, migrations: ms, now: time.Now}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: migrate %s: %w", where, err)
	}
	s.tasks = &taskStore{db: db, dialect: d, now: func() time.Time { return s.now() }}
	return s, nil
}

// Close closes the database.
func (s *SQLStore) Close() error { return s.db.Close() }

// DB exposes the handle for tests and diagnostics.
func (s *SQLStore) DB() *sql.DB { return s.db }

// Tasks implements Store.
func (s *SQLStore) Tasks() taskstore.Store { return s.tasks }

// dialect is what differs between the SQL backends.
type dialect struct {
	name string
	// bytesType is the column type of raw bytes (the one type the shared schema spells differently).
	bytesType string
	// lockKey serialises read-modify-write transactions on one key (SQLite's writer lock already does).
	lockKey func(ctx context.Context, tx *sql.Tx, key string) error
	// statusAfter is the SQL condition "the task's status timestamp is after ? (Unix seconds)".
	statusAfter string
}

var sqliteDialect = &dialect{
	name:        "sqlite",
	bytesType:   "BLOB",
	lockKey:     func(context.Context, *sql.Tx, string) error { return nil },
	statusAfter: "unixepoch(json_extract(data, '$.status.timestamp'), 'subsec') > ?",
}

func (s *SQLStore) migrate(ctx context.Context) error {
	// Replicas starting together on one Postgres take turns (the lock) at creating the version table.
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.dialect.lockKey(ctx, tx, "schema_migrations"); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`)
		return err
	})
	if err != nil {
		return err
	}
	for i, m := range s.migrations {
		if err := s.tx(ctx, func(tx *sql.Tx) error { return s.applyMigration(ctx, tx, i+1, m) }); err != nil {
			return err
		}
	}
	return nil
}

func (s *SQLStore) applyMigration(ctx context.Context, tx *sql.Tx, v int, m string) error {
	if err := s.dialect.lockKey(ctx, tx, "schema_migrations"); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m); err != nil {
		return fmt.Errorf("migration %d: %w", v, err)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)`, v, s.now().Unix())
	return err
}

// SchemaVersion reports the highest applied migration.
func (s *SQLStore) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	return int(v.Int64), err
}

func (s *SQLStore) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// lockedTx runs fn in a transaction holding the lock for key, so concurrent read-modify-writes of one
// record (from this process or another replica) apply one after the other.
func (s *SQLStore) lockedTx(ctx context.Context, key string, fn func(*sql.Tx) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.dialect.lockKey(ctx, tx, key); err != nil {
			return err
		}
		return fn(tx)
	})
}

// --- JSON-document tables ---

func getDoc[T any](ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, query string, args ...any) (*T, error) {
	var data string
	err := q.QueryRowContext(ctx, query, args...).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var v T
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		return nil, fmt.Errorf("store: corrupt record: %w", err)
	}
	return &v, nil
}

func listDocs[T any](ctx context.Context, db *sql.DB, query string) ([]T, error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
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

// GetIssue implements Store.
func (s *SQLStore) GetIssue(ctx context.Context, fp string) (*IssueRecord, error) {
	return getDoc[IssueRecord](ctx, s.db, `SELECT data FROM issues WHERE fingerprint = ?`, fp)
}

// PutIssue implements Store (insert or replace).
func (s *SQLStore) PutIssue(ctx context.Context, rec IssueRecord) error {
	if rec.Fingerprint == "" {
		return errors.New("store: issue record without fingerprint")
	}
	data, _ := json.Marshal(rec)
	_, err := s.db.ExecContext(ctx, `INSERT INTO issues(fingerprint, data) VALUES (?, ?)
		ON CONFLICT(fingerprint) DO UPDATE SET data = excluded.data`, rec.Fingerprint, string(data))
	return err
}

// ListIssues implements Store.
func (s *SQLStore) ListIssues(ctx context.Context) ([]IssueRecord, error) {
	return listDocs[IssueRecord](ctx, s.db, `SELECT data FROM issues ORDER BY fingerprint`)
}

// GetFixerSession implements Store.
func (s *SQLStore) GetFixerSession(ctx context.Context, fp string) (*FixerSession, error) {
	return getDoc[FixerSession](ctx, s.db, `SELECT data FROM fixer_sessions WHERE fingerprint = ?`, fp)
}

// PutFixerSession implements Store (insert or replace; CreatedAt kept from the first write).
func (s *SQLStore) PutFixerSession(ctx context.Context, fs FixerSession) error {
	if fs.Fingerprint == "" {
		return errors.New("store: fixer session without fingerprint")
	}
	return s.lockedTx(ctx, "fixer_sessions|"+fs.Fingerprint, func(tx *sql.Tx) error {
		old, err := getDoc[FixerSession](ctx, tx, `SELECT data FROM fixer_sessions WHERE fingerprint = ?`, fs.Fingerprint)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		now := s.now().UTC()
		if old != nil && !old.CreatedAt.IsZero() {
			fs.CreatedAt = old.CreatedAt
		}
		if fs.CreatedAt.IsZero() {
			fs.CreatedAt = now
		}
		fs.UpdatedAt = now
		data, _ := json.Marshal(fs)
		_, err = tx.ExecContext(ctx, `INSERT INTO fixer_sessions(fingerprint, data) VALUES (?, ?)
			ON CONFLICT(fingerprint) DO UPDATE SET data = excluded.data`, fs.Fingerprint, string(data))
		return err
	})
}

// AppendFixerStep implements Store; it creates the session record if missing.
func (s *SQLStore) AppendFixerStep(ctx context.Context, fp string, step FixerStep) error {
	return s.lockedTx(ctx, "fixer_sessions|"+fp, func(tx *sql.Tx) error {
		fs, err := getDoc[FixerSession](ctx, tx, `SELECT data FROM fixer_sessions WHERE fingerprint = ?`, fp)
		now := s.now().UTC()
		if errors.Is(err, ErrNotFound) {
			fs = &FixerSession{Fingerprint: fp, CreatedAt: now}
		} else if err != nil {
			return err
		}
		if step.At.IsZero() {
			step.At = now
		}
		fs.Steps = append(fs.Steps, step)
		fs.UpdatedAt = now
		data, _ := json.Marshal(fs)
		_, err = tx.ExecContext(ctx, `INSERT INTO fixer_sessions(fingerprint, data) VALUES (?, ?)
			ON CONFLICT(fingerprint) DO UPDATE SET data = excluded.data`, fp, string(data))
		return err
	})
}

// ListFixerSessions implements Store.
func (s *SQLStore) ListFixerSessions(ctx context.Context) ([]FixerSession, error) {
	return listDocs[FixerSession](ctx, s.db, `SELECT data FROM fixer_sessions ORDER BY fingerprint`)
}

// GetAnalysis implements Store.
func (s *SQLStore) GetAnalysis(ctx context.Context, k AnalysisKey) (*Analysis, error) {
	return getDoc[Analysis](ctx, s.db, `SELECT data FROM analyses WHERE namespace = ? AND rollout = ? AND canary_hash = ?`, k.Namespace, k.Rollout, k.rowKey())
}

// PutAnalysis implements Store.
func (s *SQLStore) PutAnalysis(ctx context.Context, a Analysis) error {
	return s.putAnalysis(ctx, s.db, a)
}

func (s *SQLStore) putAnalysis(ctx context.Context, ex interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, a Analysis) error {
	a.UpdatedAt = s.now().UTC()
	if a.StartedAt.IsZero() {
		a.StartedAt = a.UpdatedAt
	}
	data, _ := json.Marshal(a)
	_, err := ex.ExecContext(ctx, `INSERT INTO analyses(namespace, rollout, canary_hash, data) VALUES (?, ?, ?, ?)
		ON CONFLICT(namespace, rollout, canary_hash) DO UPDATE SET data = excluded.data`,
		a.Key.Namespace, a.Key.Rollout, a.Key.rowKey(), string(data))
	return err
}

// PutKV implements Store.
func (s *SQLStore) PutKV(ctx context.Context, ns, key string, value []byte) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO kv(ns, key, value, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT(ns, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, ns, key, value, s.now().UnixNano())
	return err
}

// GetKV implements Store.
func (s *SQLStore) GetKV(ctx context.Context, ns, key string) ([]byte, error) {
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM kv WHERE ns = ? AND key = ?`, ns, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return v, err
}
