package monitor

import (
	"context"
	"sync"

	"github.com/fixloop/fixloop/internal/store"
)

// Status is what the server reports about the monitor (server_info, /metrics) and where list_findings
// reads: it is created before the server's backends and filled in as they start.
type Status struct {
	mu       sync.Mutex
	enabled  bool
	identity string
	lease    string // namespace/name of the Lease, empty without election
	holder   string
	leading  bool
	st       store.MonitorStore
	stateDir string
	storeURL string // postgres://… when state is shared; empty: SQLite in stateDir
}

// NewStatus returns the status of a process whose state lives in the store at storeURL (empty: SQLite
// in stateDir).
func NewStatus(storeURL, stateDir string) *Status {
	return &Status{storeURL: storeURL, stateDir: stateDir}
}

// Info is a snapshot of Status.
type Info struct {
	Enabled  bool   `json:"enabled" jsonschema:"true when this process runs the monitor (serve --monitor)"`
	Identity string `json:"identity,omitempty" jsonschema:"this process's identity in the leader election"`
	Lease    string `json:"lease,omitempty" jsonschema:"namespace/name of the Lease the replicas elect a leader with"`
	Leader   string `json:"leader,omitempty" jsonschema:"identity of the current lease holder (the replica running the monitor)"`
	IsLeader bool   `json:"isLeader" jsonschema:"true when this process holds the lease"`
}

// Info returns a snapshot (nil-safe).
func (s *Status) Info() Info {
	if s == nil {
		return Info{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return Info{Enabled: s.enabled, Identity: s.identity, Lease: s.lease, Leader: s.holder, IsLeader: s.leading}
}

// SetEnabled records that this process runs the monitor as identity (lease empty: no election).
func (s *Status) SetEnabled(identity, lease string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enabled, s.identity, s.lease = true, identity, lease
}

func (s *Status) setLeader(holder string, leading bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holder, s.leading = holder, leading
}

// SetStore shares the server's open store.
func (s *Status) SetStore(st store.MonitorStore) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = st
}

// Store returns the monitor's store, opening the configured database on first use (a stdio MCP
// server reads the runs a `serve --monitor` process wrote).
func (s *Status) Store(ctx context.Context) (store.MonitorStore, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st != nil {
		return s.st, nil
	}
	st, err := store.OpenConfigured(ctx, s.storeURL, s.stateDir)
	if err != nil {
		return nil, err
	}
	s.st = st
	return st, nil
}
