package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SlackStore is the Slack bridge's memory that every replica must share: which deliveries and button
// presses were already acted on (Slack may deliver one to any replica, and again to another), and which
// triage task a thread's reply continues. Records expire; expired ones are deleted as others are added.
type SlackStore interface {
	// MarkSlackOnce records key for ttl and reports whether this call was the first to do so (a record
	// past its expiry counts as absent). Concurrent calls from any replica: exactly one gets true.
	MarkSlackOnce(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// GetSlackThread reads a thread's last turn (ErrNotFound when none, or expired).
	GetSlackThread(ctx context.Context, key string) ([]byte, error)
	// PutSlackThread keeps a thread's last turn for ttl.
	PutSlackThread(ctx context.Context, key string, turn []byte, ttl time.Duration) error
}

// slackPruneEvery spaces the deletions of expired Slack records (one statement per table).
const slackPruneEvery = time.Minute

// MarkSlackOnce implements SlackStore. One upsert decides: it inserts the key, or takes over an
// expired record; a live record is left alone and no row changes. The database's own uniqueness
// makes the second of two concurrent replicas wait for the first and then see its record.
func (s *SQLStore) MarkSlackOnce(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if key == "" || ttl <= 0 {
		return false, errors.New("store: a once-mark needs a key and a positive ttl")
	}
	s.pruneSlack(ctx)
	now := s.now()
	res, err := s.db.ExecContext(ctx, `INSERT INTO slack_once(key, expires_at) VALUES (?, ?)
		ON CONFLICT(key) DO UPDATE SET expires_at = excluded.expires_at WHERE slack_once.expires_at <= ?`,
		key, now.Add(ttl).UnixNano(), now.UnixNano())
	if err != nil {
		return false, fmt.Errorf("store: mark slack once: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// GetSlackThread implements SlackStore.
func (s *SQLStore) GetSlackThread(ctx context.Context, key string) ([]byte, error) {
	var turn []byte
	err := s.db.QueryRowContext(ctx, `SELECT turn FROM slack_threads WHERE key = ? AND expires_at > ?`, key, s.now().UnixNano()).Scan(&turn)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return turn, err
}

// PutSlackThread implements SlackStore.
func (s *SQLStore) PutSlackThread(ctx context.Context, key string, turn []byte, ttl time.Duration) error {
	s.pruneSlack(ctx)
	_, err := s.db.ExecContext(ctx, `INSERT INTO slack_threads(key, turn, expires_at) VALUES (?, ?, ?)
		ON CONFLICT(key) DO UPDATE SET turn = excluded.turn, expires_at = excluded.expires_at`,
		key, turn, s.now().Add(ttl).UnixNano())
	return err
}

// pruneSlack deletes expired records at most once a slackPruneEvery per process, so the tables hold
// only the last window's deliveries and the last day's threads. A failure only delays the cleanup.
func (s *SQLStore) pruneSlack(ctx context.Context) {
	now := s.now().UnixNano()
	last := s.slackPruned.Load()
	if now-last < int64(slackPruneEvery) || !s.slackPruned.CompareAndSwap(last, now) {
		return
	}
	for _, table := range []string{"slack_once", "slack_threads"} {
		_, _ = s.db.ExecContext(ctx, `DELETE FROM `+table+` WHERE expires_at <= ?`, now)
	}
}
