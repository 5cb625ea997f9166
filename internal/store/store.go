// Package store persists fixloop's state: A2A tasks (so GetTask answers after a restart), GitHub issue
// records and fixer sessions keyed by failure fingerprint, and cached canary verdicts per
// (rollout, canary pod-template hash). The default backend is SQLite through the pure-Go modernc driver;
// everything goes through the Store interface so a Postgres backend can be added for multi-replica use.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2asrv/taskstore"
)

// ErrNotFound is returned by the Get methods when no record exists.
var ErrNotFound = errors.New("store: not found")

// Store is fixloop's persistent state.
type Store interface {
	// Tasks is the a2a-go task store (a2asrv.WithTaskStore) backed by this database.
	Tasks() taskstore.Store
	// UnfinishedTasks lists A2A tasks left submitted/working (interrupted by a restart).
	UnfinishedTasks(ctx context.Context) ([]*a2a.Task, error)

	// Issues: one record per failure fingerprint (the GitHub issue it maps to).
	GetIssue(ctx context.Context, fingerprint string) (*IssueRecord, error)
	PutIssue(ctx context.Context, rec IssueRecord) error
	ListIssues(ctx context.Context) ([]IssueRecord, error)

	// Fixer sessions: one per fingerprint, owned by the fixer agent.
	GetFixerSession(ctx context.Context, fingerprint string) (*FixerSession, error)
	PutFixerSession(ctx context.Context, s FixerSession) error
	// AppendFixerStep records one step result (atomic with respect to other appends).
	AppendFixerStep(ctx context.Context, fingerprint string, step FixerStep) error
	ListFixerSessions(ctx context.Context) ([]FixerSession, error)

	// Analysis cache per (namespace, rollout, canary pod-template hash).
	GetAnalysis(ctx context.Context, key AnalysisKey) (*Analysis, error)
	// PutAnalysis records a result or a run's state; who runs it is a claim (ClaimStore), renewed while
	// it runs, like every other piece of work done once across replicas.
	PutAnalysis(ctx context.Context, a Analysis) error

	// PutKV/GetKV keep small records for components without a table of their own (namespaced keys).
	PutKV(ctx context.Context, ns, key string, value []byte) error
	GetKV(ctx context.Context, ns, key string) ([]byte, error)

	// MonitorStore: the health monitor's runs, steps, findings and actions.
	MonitorStore
	// ClaimStore: leases on work that must happen once across replicas (claims.go).
	ClaimStore
	// SlackStore: the Slack bridge's once-marks and thread memory, shared by replicas (slack.go).
	SlackStore

	Close() error
}

// IssueRecord links a failure fingerprint to its GitHub issue.
type IssueRecord struct {
	Fingerprint string    `json:"fingerprint"`
	Repo        string    `json:"repo"` // owner/name
	Number      int       `json:"number"`
	URL         string    `json:"url"`
	State       string    `json:"state"` // open|closed
	Occurrences int       `json:"occurrences"`
	FirstSeen   time.Time `json:"firstSeen"`
	LastSeen    time.Time `json:"lastSeen"`
}

// FixerSession is the fixer agent's state for one fingerprint.
type FixerSession struct {
	Fingerprint string      `json:"fingerprint"`
	SessionID   string      `json:"sessionId"` // OpenCode session id
	TaskID      string      `json:"taskId"`    // A2A task id of the fixer run
	Repo        string      `json:"repo"`
	Branch      string      `json:"branch"`
	PRNumber    int         `json:"prNumber"`
	PRURL       string      `json:"prUrl"`
	Status      string      `json:"status"` // free-form, e.g. running|verified|failed|pr_open
	Steps       []FixerStep `json:"steps"`
	CreatedAt   time.Time   `json:"createdAt"`
	UpdatedAt   time.Time   `json:"updatedAt"`
}

// FixerStep is one recorded step of a fixer session (e.g. "build", "test", "push").
type FixerStep struct {
	Name   string    `json:"name"`
	OK     bool      `json:"ok"`
	Output string    `json:"output,omitempty"`
	At     time.Time `json:"at"`
}

// AnalysisKey identifies one analysis of one canary revision of one rollout.
type AnalysisKey struct {
	Namespace  string `json:"namespace"`
	Rollout    string `json:"rollout"`
	CanaryHash string `json:"canaryHash"` // rollouts-pod-template-hash of the canary ReplicaSet
	// Run identifies who asks within that revision (e.g. rollout UID + AnalysisRun UID), so a retried
	// analysis or a re-created rollout with the same pod template never reads an older verdict.
	Run string `json:"run,omitempty"`
}

// rowKey is the stored canary_hash column: the hash, plus the run when there is one (no migration:
// rows written before runs existed keep their plain hash and are simply never asked for again).
func (k AnalysisKey) rowKey() string {
	if k.Run == "" {
		return k.CanaryHash
	}
	return k.CanaryHash + "|" + k.Run
}

// Analysis states.
const (
	AnalysisRunning = "running"
	AnalysisDone    = "done"
	AnalysisFailed  = "failed"
)

// Analysis is a cached verdict (or an in-flight run) for one AnalysisKey.
type Analysis struct {
	Key       AnalysisKey `json:"key"`
	Status    string      `json:"status"` // running|done|failed
	Owner     string      `json:"owner,omitempty"`
	Result    []byte      `json:"result,omitempty"` // verdict JSON as produced by the triage agent
	Error     string      `json:"error,omitempty"`
	StartedAt time.Time   `json:"startedAt"`
	UpdatedAt time.Time   `json:"updatedAt"`
}
