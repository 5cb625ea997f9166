// Package agents hosts fixloop's A2A agents (a2a-go v2): each agent is mounted at /agents/<name> with its
// card at /agents/<name>/.well-known/agent-card.json; the root card (/.well-known/agent-card.json) is the
// triage agent's. One JSON-RPC endpoint per agent answers both A2A 1.0 method names (SendMessage,
// SendStreamingMessage, GetTask, CancelTask, ...) and the 0.3 names (message/send, message/stream,
// tasks/get, tasks/cancel) through a2a-go's v0 compat handler. Tasks live in internal/store, so GetTask
// answers after a restart, and tasks interrupted by a restart are resumed (or failed) at startup.
package agents

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2acompat/a2av0"
	"github.com/a2aproject/a2a-go/v2/a2asrv"

	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/store"
)

// Agent is one A2A agent to mount. The fixer plugs in the same way as triage:
//
//	host.Mount(agents.Agent{Name: "fixer", Card: fixer.Card(), Executor: fixer.NewExecutor(...)})
type Agent struct {
	// Name is the URL segment: the agent is served at /agents/<Name>.
	Name string
	// Card describes the agent (name, description, skills with examples and input/output modes, version).
	// The host fills in SupportedInterfaces (URL), streaming capability, default modes and security
	// schemes when they are empty.
	Card *a2a.AgentCard
	// Executor runs the agent. Events it yields (status updates, artifacts, the final message or status)
	// are persisted in the store by a2a-go.
	Executor a2asrv.AgentExecutor
	// Scope is what a caller must hold to call the agent (default read; the fixer needs fix).
	Scope string
	// Resumable: tasks left submitted/working by a crash are re-executed from their first message at the
	// next start (the executor must be idempotent, e.g. dedupe side effects by task id). Otherwise they are
	// marked failed with a message saying the server restarted.
	Resumable bool
}

// Config configures the host.
type Config struct {
	Store store.Store // required: tasks are persisted here
	// PublicURL is the externally reachable base URL (e.g. http://fixloop.fixloop.svc:8080). Empty: derived
	// from each request's Host header.
	PublicURL string
	// Security is what the cards declare: exactly the credential kinds the server accepts (checked by
	// internal/auth in front of the host), none when authentication is off.
	Security Security
	// RootAgent's card is served at /.well-known/agent-card.json (default "triage", else the first mounted).
	RootAgent string
	Version   string
	Logger    *slog.Logger
}

// Host serves mounted agents.
type Host struct {
	cfg    Config
	log    *slog.Logger
	mu     sync.RWMutex
	agents map[string]*mounted
	order  []string
	wg     sync.WaitGroup
	scoper store.TaskScoper
}

type mounted struct {
	Agent
	handler a2asrv.RequestHandler
	v1      http.Handler
	v0      http.Handler
}

// NewHost creates a host over cfg.Store.
func NewHost(cfg Config) (*Host, error) {
	if cfg.Store == nil {
		return nil, errors.New("agents: a store is required (tasks must survive restarts)")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RootAgent == "" {
		cfg.RootAgent = "triage"
	}
	h := &Host{cfg: cfg, log: cfg.Logger, agents: map[string]*mounted{}}
	if sc, ok := cfg.Store.(store.TaskScoper); ok {
		h.scoper = sc
		sc.ScopeTasks(func(ctx context.Context) string { return caller(ctx).Name },
			func(ctx context.Context) bool { return caller(ctx).IsAdmin() })
	}
	return h, nil
}

// Security lists the credential kinds fixloop accepts, for the cards' securitySchemes.
type Security struct {
	Bearer     bool   // static tokens or Kubernetes ServiceAccount tokens (Authorization: Bearer)
	OIDCIssuer string // OIDC issuer URL; empty: no OIDC
}

// Scope is the scope a caller needs for agent name (read when unknown).
func (h *Host) Scope(name string) string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if m, ok := h.agents[name]; ok && m.Scope != "" {
		return m.Scope
	}
	return auth.ScopeRead
}

const agentKV = "a2a-task-agent" // store KV namespace: task id → agent name (for resuming)

// Mount adds an agent. Call before Register/serving.
func (h *Host) Mount(a Agent) error {
	if a.Name == "" || strings.ContainsAny(a.Name, "/ ") {
		return fmt.Errorf("agents: invalid agent name %q", a.Name)
	}
	if a.Executor == nil || a.Card == nil {
		return fmt.Errorf("agents: agent %q needs an executor and a card", a.Name)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, dup := h.agents[a.Name]; dup {
		return fmt.Errorf("agents: agent %q mounted twice", a.Name)
	}
	exec := &recordingExecutor{inner: a.Executor, name: a.Name, store: h.cfg.Store, log: h.log, host: h}
	handler := a2asrv.NewHandler(exec,
		a2asrv.WithTaskStore(h.cfg.Store.Tasks()),
		a2asrv.WithLogger(h.log),
		a2asrv.WithCallInterceptors(ownership{scoper: h.scoper}),
		a2asrv.WithExecutionPanicHandler(func(r any) error {
			h.log.Error("agent panicked", "agent", a.Name, "panic", r)
			return fmt.Errorf("agent %s failed internally: %v", a.Name, r)
		}),
	)
	panicErr := a2asrv.WithTransportPanicHandler(func(r any) error {
		h.log.Error("A2A transport panic", "agent", a.Name, "panic", r)
		return fmt.Errorf("internal error in agent %s", a.Name)
	})
	keepAlive := a2asrv.WithTransportKeepAlive(15 * time.Second)
	m := &mounted{Agent: a, handler: handler,
		v1: a2asrv.NewJSONRPCHandler(handler, panicErr, keepAlive),
		v0: a2av0.NewJSONRPCHandler(handler, panicErr, keepAlive)}
	h.agents[a.Name] = m
	h.order = append(h.order, a.Name)
	return nil
}

// Handler returns the RequestHandler of a mounted agent (for in-process calls and tests).
func (h *Host) Handler(name string) (a2asrv.RequestHandler, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	m, ok := h.agents[name]
	if !ok {
		return nil, false
	}
	return m.handler, true
}

// Register mounts the routes on mux: /agents/<name>, /agents/<name>/.well-known/agent-card.json,
// /.well-known/agent-card.json and /agents (a JSON index of mounted agents).
func (h *Host) Register(mux *http.ServeMux) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, name := range h.order {
		m := h.agents[name]
		mux.Handle("/agents/"+name, h.rpc(m))
		mux.Handle("/agents/"+name+"/", h.rpc(m)) // tolerate a trailing slash in client configs
		mux.Handle("GET /agents/"+name+a2asrv.WellKnownAgentCardPath, h.cardHandler(m))
		mux.Handle("GET /agents/"+name+"/.well-known/agent.json", h.cardHandler(m)) // pre-0.3 path
	}
	mux.HandleFunc("GET "+a2asrv.WellKnownAgentCardPath, func(w http.ResponseWriter, r *http.Request) {
		m := h.root()
		if m == nil {
			http.Error(w, "no agents mounted", http.StatusNotFound)
			return
		}
		h.cardHandler(m).ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /agents", func(w http.ResponseWriter, r *http.Request) {
		type entry struct {
			Name string `json:"name"`
			URL  string `json:"url"`
			Card string `json:"card"`
		}
		var out []entry
		base := h.baseURL(r)
		for _, n := range h.names() {
			out = append(out, entry{Name: n, URL: base + "/agents/" + n, Card: base + "/agents/" + n + a2asrv.WellKnownAgentCardPath})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
}

func (h *Host) names() []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return append([]string(nil), h.order...)
}

func (h *Host) root() *mounted {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if m, ok := h.agents[h.cfg.RootAgent]; ok {
		return m
	}
	if len(h.order) > 0 {
		return h.agents[h.order[0]]
	}
	return nil
}

func (h *Host) baseURL(r *http.Request) string {
	if h.cfg.PublicURL != "" {
		return strings.TrimRight(h.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	host := r.Host
	if fh := r.Header.Get("X-Forwarded-Host"); fh != "" {
		host = fh
	}
	return scheme + "://" + host
}

// AgentURL is the JSON-RPC endpoint of a mounted agent for a request base URL.
func AgentURL(base, name string) string { return strings.TrimRight(base, "/") + "/agents/" + name }

// card fills host-level fields into a copy of the agent's card.
func (h *Host) card(m *mounted, base string) *a2a.AgentCard {
	c := *m.Card
	// The same endpoint speaks 1.0 and 0.3 (method names differ), so it is listed once per version.
	legacy := a2a.NewAgentInterface(AgentURL(base, m.Name), a2a.TransportProtocolJSONRPC)
	legacy.ProtocolVersion = a2av0.Version
	c.SupportedInterfaces = []*a2a.AgentInterface{a2a.NewAgentInterface(AgentURL(base, m.Name), a2a.TransportProtocolJSONRPC), legacy}
	c.Capabilities.Streaming = true
	if len(c.DefaultInputModes) == 0 {
		c.DefaultInputModes = []string{"application/json", "text/plain"}
	}
	if len(c.DefaultOutputModes) == 0 {
		c.DefaultOutputModes = []string{"application/json", "text/plain"}
	}
	if c.Version == "" {
		c.Version = h.cfg.Version
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Provider == nil {
		c.Provider = &a2a.AgentProvider{Org: "fixloop", URL: "https://github.com/fixloop/fixloop"}
	}
	// The card advertises exactly what is enforced: a scheme the server does not check would send
	// clients looking for credentials they do not need (and hide that the agent is open).
	if c.SecuritySchemes == nil {
		c.SecuritySchemes, c.SecurityRequirements = h.cfg.Security.schemes()
	}
	return &c
}

// cardHandler serves one card readable by both protocol versions: the A2A 1.0 card (supportedInterfaces,
// securitySchemes/securityRequirements in 1.0 form, which 1.0 parsers require) plus the 0.3 fields
// a2a-go's compat producer adds (url, preferredTransport, protocolVersion, additionalInterfaces,
// security). "?version=0.3" serves the pure 0.3 card for strict 0.3 parsers.
func (h *Host) cardHandler(m *mounted) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		card := h.card(m, h.baseURL(r))
		body, err := cardJSON(r.Context(), card, r.URL.Query().Get("version") == "0.3")
		if err != nil {
			http.Error(w, "agent card: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Write(body)
	})
}

func cardJSON(ctx context.Context, card *a2a.AgentCard, legacyOnly bool) ([]byte, error) {
	v1, err := json.Marshal(card)
	if err != nil {
		return nil, err
	}
	producer, ok := a2av0.NewStaticAgentCardProducer(card).(interface {
		CardJSON(context.Context) ([]byte, error)
	})
	if !ok {
		return v1, nil
	}
	v0, err := producer.CardJSON(ctx)
	if err != nil {
		return nil, err
	}
	if legacyOnly {
		return v0, nil
	}
	var merged, cur map[string]json.RawMessage
	if err := json.Unmarshal(v0, &merged); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(v1, &cur); err != nil {
		return nil, err
	}
	for k, v := range cur {
		merged[k] = v // 1.0 wins where the shapes differ (securitySchemes, skills)
	}
	return json.MarshalIndent(merged, "", "  ")
}

// rpc routes a JSON-RPC request to the 1.0 handler or, for 0.3 method names ("message/send"), to the
// compat handler.
func (h *Host) rpc(m *mounted) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, m.Name) || r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, m.Name+"/") {
			h.cardHandler(m).ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err != nil {
			http.Error(w, "read request: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var peek rpcPeek
		_ = json.Unmarshal(body, &peek)
		if peek.Method == "ListTasks" || peek.Method == "tasks/list" {
			if err := checkListParams(peek.Params); err != nil {
				writeInvalidParams(w, peek.ID, err)
				return
			}
		}
		if strings.Contains(peek.Method, "/") {
			m.v0.ServeHTTP(w, r)
			return
		}
		m.v1.ServeHTTP(w, r)
	})
}

// recordingExecutor remembers which agent runs a task (so a restart can resume it) before delegating.
type recordingExecutor struct {
	inner a2asrv.AgentExecutor
	name  string
	store store.Store
	log   *slog.Logger
	host  *Host
}

func (e *recordingExecutor) Execute(ctx context.Context, ec *a2asrv.ExecutorContext) iter.Seq2[a2a.Event, error] {
	if err := e.store.PutKV(ctx, agentKV, string(ec.TaskID), []byte(e.name)); err != nil {
		e.log.Warn("could not record task owner; it will not resume after a restart", "task", ec.TaskID, "err", err)
	}
	if ec.StoredTask == nil {
		e.host.rememberOwner(ctx, ec.TaskID)
	}
	return holdTask(ctx, e.store, ec.TaskID, store.NewClaimOwner(), func(ctx context.Context) iter.Seq2[a2a.Event, error] {
		return e.inner.Execute(ctx, ec)
	})
}

func (e *recordingExecutor) Cancel(ctx context.Context, ec *a2asrv.ExecutorContext) iter.Seq2[a2a.Event, error] {
	return e.inner.Cancel(ctx, ec)
}

// schemes are the card's securitySchemes and securityRequirements (any one scheme suffices); none when
// authentication is off, so clients do not send credentials nobody checks.
func (s Security) schemes() (a2a.NamedSecuritySchemes, a2a.SecurityRequirementsOptions) {
	schemes := a2a.NamedSecuritySchemes{}
	var reqs a2a.SecurityRequirementsOptions
	if s.Bearer {
		schemes["bearer"] = a2a.HTTPAuthSecurityScheme{Scheme: "bearer",
			Description: "A fixloop token (auth file) or a Kubernetes ServiceAccount token bound to fixloop's audience."}
		reqs = append(reqs, a2a.SecurityRequirements{"bearer": a2a.SecuritySchemeScopes{}})
	}
	if s.OIDCIssuer != "" {
		schemes["oidc"] = a2a.OpenIDConnectSecurityScheme{OpenIDConnectURL: strings.TrimRight(s.OIDCIssuer, "/") + "/.well-known/openid-configuration",
			Description: "An OIDC access token for fixloop's audience; scopes read, write, issue, fix, admin."}
		reqs = append(reqs, a2a.SecurityRequirements{"oidc": a2a.SecuritySchemeScopes{}})
	}
	if len(schemes) == 0 {
		return nil, nil
	}
	return schemes, reqs
}
