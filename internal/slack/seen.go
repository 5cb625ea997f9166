package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// replayWindow is Slack's timestamp window: an older signature is refused by the verifier anyway.
const replayWindow = 5 * time.Minute

// How long each kind of once-mark is kept: a delivery is resent within minutes; a confirmation or a
// one-click button may be pressed again days later and must still not run twice.
const (
	deliveryTTL = 2 * replayWindow
	pressTTL    = 90 * 24 * time.Hour
)

// State is what replicas of the bridge must share (internal/store's SlackStore implements it over
// SQLite or PostgreSQL): once-marks of request signatures, event ids, Socket Mode envelopes and
// button presses, and each thread's last turn with the triage agent. Without one the bridge keeps it
// in process memory, which is right for a single replica only.
type State interface {
	MarkSlackOnce(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// GetSlackThread returns an error (any) when the thread has no live turn.
	GetSlackThread(ctx context.Context, key string) ([]byte, error)
	PutSlackThread(ctx context.Context, key string, turn []byte, ttl time.Duration) error
}

// state returns the shared state, or the process-local one.
func (b *Bridge) state() State {
	if b.State != nil {
		return b.State
	}
	b.memOnce.Do(func() { b.mem = &memState{} })
	return b.mem
}

// errState means the shared state could not be read or written: the request is refused (Slack
// retries a delivery that got a 5xx) rather than risk acting twice.
var errState = errors.New("slack: shared state unavailable")

// mark reports whether key is marked for the first time (within ttl, across replicas).
func (b *Bridge) mark(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	first, err := b.state().MarkSlackOnce(ctx, key, ttl)
	if err != nil {
		b.logger().Error("slack state unavailable: request not acted on", "key", key, "err", err)
		return false, fmt.Errorf("%w: %v", errState, err)
	}
	return first, nil
}

// once is mark for callers that treat "cannot tell" like "already done": acting twice is worse than
// asking the user to press again.
func (b *Bridge) once(ctx context.Context, key string, ttl time.Duration) bool {
	first, err := b.mark(ctx, key, ttl)
	return err == nil && first
}

// threadTurn reads the last turn of a thread (channel/ts); false when there is none.
func (b *Bridge) threadTurn(ctx context.Context, key string) (Turn, bool) {
	raw, err := b.state().GetSlackThread(ctx, key)
	if err != nil {
		return Turn{}, false
	}
	var t Turn
	return t, json.Unmarshal(raw, &t) == nil
}

func (b *Bridge) putThreadTurn(ctx context.Context, key string, t Turn) {
	raw, _ := json.Marshal(t)
	if err := b.state().PutSlackThread(ctx, key, raw, threadTTL); err != nil {
		b.logger().Error("slack thread not remembered: a reply will not continue the task", "thread", key, "err", err)
	}
}

// memState is State in process memory, bounded: expired records go as new ones come.
type memState struct {
	mu      sync.Mutex
	once    map[string]time.Time // key -> expiry
	threads map[string]memTurn
}

type memTurn struct {
	turn    []byte
	expires time.Time
}

// maxMemRecords bounds each map: when full, expired records go first, then arbitrary live ones (under a
// flood a lone replica forgets rather than runs out of memory).
const maxMemRecords = 10000

// evict makes room for one more record in m.
func evict[V any](m map[string]V, expired func(V) bool) {
	if len(m) < maxMemRecords {
		return
	}
	for k, v := range m {
		if expired(v) {
			delete(m, k)
		}
	}
	for k := range m {
		if len(m) < maxMemRecords {
			return
		}
		delete(m, k)
	}
}

func (m *memState) MarkSlackOnce(_ context.Context, key string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if m.once == nil {
		m.once = map[string]time.Time{}
	}
	if exp, ok := m.once[key]; ok && now.Before(exp) {
		return false, nil
	}
	evict(m.once, func(exp time.Time) bool { return !now.Before(exp) })
	m.once[key] = now.Add(ttl)
	return true, nil
}

var errNoTurn = errors.New("slack: no live turn in this thread")

func (m *memState) GetSlackThread(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.threads[key]
	if !ok || !time.Now().Before(e.expires) {
		return nil, errNoTurn
	}
	return e.turn, nil
}

func (m *memState) PutSlackThread(_ context.Context, key string, turn []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if m.threads == nil {
		m.threads = map[string]memTurn{}
	}
	evict(m.threads, func(e memTurn) bool { return !now.Before(e.expires) })
	m.threads[key] = memTurn{turn: turn, expires: now.Add(ttl)}
	return nil
}

func sorted(s []string) []string { sort.Strings(s); return s }

// groupCache keeps user-group members for a minute: a press must not wait on Slack each time, and a
// removed member loses the right within the minute. (Per replica: it is a cache, not a decision.)
type groupCache struct {
	mu sync.Mutex
	at map[string]groupEntry
}

type groupEntry struct {
	members []string
	read    time.Time
}

func (c *groupCache) members(ctx context.Context, client *slack.Client, group string) ([]string, error) {
	c.mu.Lock()
	e, ok := c.at[group]
	c.mu.Unlock()
	if ok && time.Since(e.read) < time.Minute {
		return e.members, nil
	}
	m, err := client.GetUserGroupMembersContext(ctx, group)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at == nil {
		c.at = map[string]groupEntry{}
	}
	c.at[group] = groupEntry{members: m, read: time.Now()}
	return m, nil
}
