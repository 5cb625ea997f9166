package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"time"
)

// AuditEvent is one write fixloop made or refused: who asked, what, on which target, the verdict that
// led to it (for triage actions) and the result.
type AuditEvent struct {
	At      time.Time `json:"at"`
	Who     string    `json:"who"`
	Method  string    `json:"method"` // how who authenticated (token, serviceaccount, oidc, none, process)
	Action  string    `json:"action"` // promote_rollout, abort_rollout, open_issue, fixer_delegation, ...
	Target  string    `json:"target"` // namespace/rollout, owner/repo, ...
	Verdict string    `json:"verdict,omitempty"`
	Result  string    `json:"result"` // ok | error | refused
	Detail  string    `json:"detail,omitempty"`
}

// AuditStore is where audit events are kept (the state store's kv table, namespace "audit").
type AuditStore interface {
	PutKV(ctx context.Context, ns, key string, value []byte) error
}

// AuditNS is the kv namespace of audit events; keys sort by time.
const AuditNS = "audit"

// AuditKeyTime is the time layout that starts every audit key (UTC), so keys sort by time.
const AuditKeyTime = "20060102T150405.000000000Z"

// Audit records every write as a structured log line ("audit") and in the store.
type Audit struct {
	Store  AuditStore // nil: log only
	Logger *slog.Logger
}

// Record fills who from ctx's identity and keeps ev. It never fails the action it records: a store
// error is logged.
func (a *Audit) Record(ctx context.Context, ev AuditEvent) {
	if a == nil {
		return
	}
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	ev.At = ev.At.UTC() // the key's time is UTC, so keys of events given another zone still sort
	if ev.Who == "" {
		ev.Who, ev.Method = "fixloop", "process" // in-process or stdio: the operator who started it
		if id := FromContext(ctx); id != nil {
			ev.Who, ev.Method = id.Name, id.Method
		}
	}
	if a.Logger != nil {
		a.Logger.Info("audit", "who", ev.Who, "method", ev.Method, "action", ev.Action, "target", ev.Target,
			"verdict", ev.Verdict, "result", ev.Result, "detail", ev.Detail)
	}
	if a.Store == nil {
		return
	}
	raw, _ := json.Marshal(ev)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	key := ev.At.Format(AuditKeyTime) + "-" + hex.EncodeToString(b)
	if err := a.Store.PutKV(context.WithoutCancel(ctx), AuditNS, key, raw); err != nil && a.Logger != nil {
		a.Logger.Warn("audit event not stored", "action", ev.Action, "err", err)
	}
}
