package agents

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2asrv"

	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/store"
)

// ownerKV keeps the creator's identity (name and scopes) per task id, so a task resumed after a restart
// runs with the permissions of whoever sent it, not with the process's.
const ownerKV = "a2a-task-owner"

// ownership is an a2a-go call interceptor: it names the caller in the call context (the store records
// it as the task's owner, ListTasks lists only the caller's tasks) and answers "task not found" when
// anyone but the creator or an admin reads, cancels, subscribes to or continues a task. "Not found"
// rather than "forbidden", so task ids of others cannot be probed.
type ownership struct {
	a2asrv.PassthroughCallInterceptor
	scoper store.TaskScoper // nil: the store cannot tell owners apart; only admins may list tasks
}

// caller is the identity of a call; in-process calls (no identity) act as the process itself.
func caller(ctx context.Context) *auth.Identity {
	if id := auth.FromContext(ctx); id != nil {
		return id
	}
	return &auth.Identity{Name: "fixloop", Method: "process", Scopes: []string{auth.ScopeAdmin}}
}

func (o ownership) Before(ctx context.Context, cc *a2asrv.CallContext, req *a2asrv.Request) (context.Context, any, error) {
	id := caller(ctx)
	cc.User = a2asrv.NewAuthenticatedUser(id.Name, map[string]any{"scopes": id.Scopes})
	if id.IsAdmin() {
		return ctx, nil, nil
	}
	if _, isList := req.Payload.(*a2a.ListTasksRequest); isList && o.scoper == nil {
		return ctx, nil, a2a.ErrUnauthorized
	}
	task := taskOf(req.Payload)
	if task == "" || o.scoper == nil {
		return ctx, nil, nil
	}
	owner, err := o.scoper.TaskOwner(ctx, task)
	if errors.Is(err, a2a.ErrTaskNotFound) {
		return ctx, nil, nil // a new task id, or a2a-go answers "not found" itself
	}
	if err != nil {
		return ctx, nil, err
	}
	if owner != id.Name {
		return ctx, nil, a2a.ErrTaskNotFound
	}
	return ctx, nil, nil
}

// taskOf is the task a request reads or changes ("" for none).
func taskOf(p any) a2a.TaskID {
	switch r := p.(type) {
	case *a2a.GetTaskRequest:
		return r.ID
	case *a2a.CancelTaskRequest:
		return r.ID
	case *a2a.SubscribeToTaskRequest:
		return r.ID
	case *a2a.SendMessageRequest:
		if r.Message != nil {
			return r.Message.TaskID
		}
	case *a2a.GetTaskPushConfigRequest:
		return r.TaskID
	case *a2a.ListTaskPushConfigRequest:
		return r.TaskID
	case *a2a.DeleteTaskPushConfigRequest:
		return r.TaskID
	case *a2a.PushConfig:
		return r.TaskID
	}
	return ""
}

// rememberOwner stores the identity that created a task (for Resume).
func (h *Host) rememberOwner(ctx context.Context, task a2a.TaskID) {
	raw, _ := json.Marshal(caller(ctx))
	if err := h.cfg.Store.PutKV(ctx, ownerKV, string(task), raw); err != nil {
		h.log.Warn("could not record the task's creator; a resumed run would lose its permissions", "task", task, "err", err)
	}
}

// ownerContext returns ctx carrying the identity that created task; tasks without a record resume with
// read scope only (no issue filing, no fix) rather than with the process's full rights.
func (h *Host) ownerContext(ctx context.Context, task a2a.TaskID) context.Context {
	id := &auth.Identity{Name: "unknown (created before owners were recorded)", Method: "none", Scopes: []string{auth.ScopeRead}}
	if raw, err := h.cfg.Store.GetKV(ctx, ownerKV, string(task)); err == nil {
		var rec auth.Identity
		if json.Unmarshal(raw, &rec) == nil && rec.Name != "" {
			id = &rec
		}
	}
	return auth.WithIdentity(ctx, id)
}
