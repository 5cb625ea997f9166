package tools

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Resource subscriptions (resources/subscribe): a client watching fixloop://verdicts/{taskId}, a finding
// run or the issue list is sent notifications/resources/updated when what it would read changes. The
// state lives in a store other replicas and agents write too, so changes are found by reading each
// subscribed resource again every Interval (through the server's own resources/read, so redaction and
// templates are the same as for a client) and comparing a hash: no writer has to know about MCP.

// Subscription limits: a client cannot make fixloop poll without bound.
const (
	maxSubscriptionsPerSession = 32
	maxSubscriptions           = 1024
	defaultSubscriptionPoll    = 5 * time.Second
	subscriptionReadTimeout    = 15 * time.Second
)

// Subscriptions tracks who watches which resource and notifies them of changes.
type Subscriptions struct {
	// Interval between reads of the subscribed resources (default 5s).
	Interval time.Duration

	srv     *server.MCPServer
	mu      sync.Mutex
	watch   map[string]*watched // by URI
	polling bool
}

type watched struct {
	sessions map[string]bool
	sum      [32]byte
}

// NewSubscriptions returns the tracker; add its hooks (AddHooks) to the server's, then Attach the server.
func NewSubscriptions() *Subscriptions {
	return &Subscriptions{watch: map[string]*watched{}}
}

// Attach gives the tracker the server it reads resources from and notifies through.
func (s *Subscriptions) Attach(srv *server.MCPServer) { s.srv = srv }

// AddHooks makes h refuse subscriptions to URIs fixloop does not serve (nothing would ever notify them)
// and past the limits, record accepted ones and forget a session's when it ends.
func (s *Subscriptions) AddHooks(h *server.Hooks) {
	h.AddOnRequestInitialization(func(ctx context.Context, _ any, message any) error {
		return s.check(ctx, message)
	})
	h.AddAfterSubscribe(func(ctx context.Context, _ any, req *mcp.SubscribeRequest, _ *mcp.EmptyResult) {
		if sess := server.ClientSessionFromContext(ctx); sess != nil {
			s.add(ctx, sess.SessionID(), req.Params.URI)
		}
	})
	h.AddAfterUnsubscribe(func(ctx context.Context, _ any, req *mcp.UnsubscribeRequest, _ *mcp.EmptyResult) {
		if sess := server.ClientSessionFromContext(ctx); sess != nil {
			s.remove(sess.SessionID(), req.Params.URI)
		}
	})
	h.AddOnUnregisterSession(func(_ context.Context, sess server.ClientSession) { s.removeSession(sess.SessionID()) })
}

// check runs before every request; it only looks at resources/subscribe.
func (s *Subscriptions) check(ctx context.Context, message any) error {
	raw, ok := message.(json.RawMessage)
	if !ok {
		return nil
	}
	var req struct {
		Method string `json:"method"`
		Params struct {
			URI string `json:"uri"`
		} `json:"params"`
	}
	if json.Unmarshal(raw, &req) != nil || req.Method != string(mcp.MethodResourcesSubscribe) {
		return nil
	}
	if !Subscribable(req.Params.URI) {
		return fmt.Errorf("fixloop serves no resource %q to subscribe to: subscribe to %s, %s, %s, %s or %s",
			req.Params.URI, IssuesURI, issueTemplate, verdictTemplate, FindingsURI, findingsTemplate)
	}
	sess := server.ClientSessionFromContext(ctx)
	if sess == nil {
		return fmt.Errorf("resources/subscribe needs a session")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := s.watch[req.Params.URI]; w != nil && w.sessions[sess.SessionID()] {
		return nil // already subscribed: a repeat is a no-op
	}
	if s.countLocked(sess.SessionID()) >= maxSubscriptionsPerSession {
		return fmt.Errorf("at most %d resource subscriptions per session: unsubscribe from one first", maxSubscriptionsPerSession)
	}
	if s.totalLocked() >= maxSubscriptions {
		return fmt.Errorf("the server holds its maximum of %d resource subscriptions; try again later", maxSubscriptions)
	}
	return nil
}

// Subscribable reports a URI of the state fixloop serves and that can change: the issue list and one
// issue, a verdict by task id, the monitor runs and one run's findings. Playbooks are fixed at build
// time and workloads are live cluster reads (read them again instead).
func Subscribable(uri string) bool {
	rest, ok := strings.CutPrefix(uri, "fixloop://")
	if !ok {
		return false
	}
	kind, id, hasID := strings.Cut(rest, "/")
	switch kind {
	case "issues", "findings":
		return !hasID || validID(id)
	case "verdicts":
		return hasID && validID(id)
	}
	return false
}

func validID(id string) bool {
	return id != "" && len(id) <= 200 && !strings.ContainsAny(id, "/?#\\ ")
}

func (s *Subscriptions) countLocked(session string) int {
	n := 0
	for _, w := range s.watch {
		if w.sessions[session] {
			n++
		}
	}
	return n
}

func (s *Subscriptions) totalLocked() int {
	n := 0
	for _, w := range s.watch {
		n += len(w.sessions)
	}
	return n
}

// add records the subscription with what the resource holds now, so the first change is noticed.
func (s *Subscriptions) add(ctx context.Context, session, uri string) {
	sum := s.read(context.WithoutCancel(ctx), uri)
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.watch[uri]
	if w == nil {
		w = &watched{sessions: map[string]bool{}, sum: sum}
		s.watch[uri] = w
	}
	w.sessions[session] = true
	if !s.polling {
		s.polling = true
		go s.poll()
	}
}

func (s *Subscriptions) remove(session, uri string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := s.watch[uri]; w != nil {
		delete(w.sessions, session)
		if len(w.sessions) == 0 {
			delete(s.watch, uri)
		}
	}
}

func (s *Subscriptions) removeSession(session string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for uri, w := range s.watch {
		delete(w.sessions, session)
		if len(w.sessions) == 0 {
			delete(s.watch, uri)
		}
	}
}

// read hashes what a client reading uri would get now (contents or the error, e.g. "no result yet").
func (s *Subscriptions) read(ctx context.Context, uri string) [32]byte {
	ctx, cancel := context.WithTimeout(ctx, subscriptionReadTimeout)
	defer cancel()
	msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": mcp.MethodResourcesRead, "params": map[string]any{"uri": uri}})
	resp, _ := json.Marshal(s.srv.HandleMessage(ctx, msg))
	return sha256.Sum256(resp)
}

// poll runs while anything is subscribed.
func (s *Subscriptions) poll() {
	every := s.Interval
	if every <= 0 {
		every = defaultSubscriptionPoll
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for range tick.C {
		uris := s.uris()
		if uris == nil {
			return
		}
		for _, uri := range uris {
			s.refresh(uri)
		}
	}
}

// uris lists the watched URIs; nil (and polling off) when there are none.
func (s *Subscriptions) uris() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.watch) == 0 {
		s.polling = false
		return nil
	}
	out := make([]string, 0, len(s.watch))
	for uri := range s.watch {
		out = append(out, uri)
	}
	return out
}

func (s *Subscriptions) refresh(uri string) {
	sum := s.read(context.Background(), uri)
	s.mu.Lock()
	w := s.watch[uri]
	if w == nil || w.sum == sum {
		s.mu.Unlock()
		return
	}
	w.sum = sum
	sessions := make([]string, 0, len(w.sessions))
	for id := range w.sessions {
		sessions = append(sessions, id)
	}
	s.mu.Unlock()
	for _, id := range sessions {
		_ = s.srv.SendNotificationToSpecificClient(id, mcp.MethodNotificationResourceUpdated, map[string]any{"uri": uri})
	}
}
