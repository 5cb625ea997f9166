package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/fixloop/fixloop/agents"
	"github.com/fixloop/fixloop/agents/triage"
	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/config"
	"github.com/fixloop/fixloop/internal/store"
	"github.com/fixloop/fixloop/tools"
)

// Plugin route modes (auth.pluginRoute): the AI metric plugin sends no credentials.
const (
	pluginOff           = "off"           // POST /a2a/analyze and GET / answer 404
	pluginVerdicts      = "verdicts"      // unauthenticated callers get verdicts only (no issue, no fix)
	pluginAuthenticated = "authenticated" // a credential with scope read is required
)

// security is everything `fixloop serve` puts in front of its handlers: one authentication layer
// deciding per path what a request needs (deny by default: a route nobody listed needs a credential).
type security struct {
	authn   *auth.Authenticator
	origins auth.Origins
	limiter *auth.RateLimiter
	audit   *auth.Audit
	set     securitySettings
	// internalToken lets the agents of this process call each other (triage → fixer) when
	// authentication is on; it exists only in memory.
	internalToken string
	host          *agents.Host // agent scopes; set once the agents are mounted
	sessions      *sessionCap
	store         store.Store // set by mountAgents; pruned by pruneTasks
	log           *slog.Logger
}

// pluginAnonymous is who an unauthenticated AI metric plugin call runs as: verdicts only.
var pluginAnonymous = &auth.Identity{Name: "argo-plugin (unauthenticated)", Method: "none", Scopes: []string{auth.ScopeRead}}

// newSecurity builds the authenticator from the settings and refuses a non-loopback listener without
// authentication unless --insecure-no-auth.
func newSecurity(cfg *config.Config, deps tools.Deps, logger *slog.Logger) (*security, error) {
	set := settingsFrom(cfg)
	s := &security{set: set, log: logger, limiter: auth.NewRateLimiter(set.RatePerSecond, set.RateBurst),
		sessions: newSessionCap(set.MCPMaxSessions, set.MCPSessionIdle)}
	a, err := buildAuthenticator(set, deps, logger)
	if err != nil {
		return nil, err
	}
	s.authn = a
	loopback := isLoopbackListen(cfg.Listen)
	switch {
	case a.Configured():
		logger.Info("authentication on", "schemes", strings.Join(a.Schemes(), ","), "plugin route", set.PluginRoute)
	case set.InsecureNoAuth:
		a.Off = true
		logger.Warn("AUTHENTICATION IS OFF (--insecure-no-auth): anyone who reaches " + cfg.Listen + " can promote, abort, file issues and run the fixer")
	case loopback:
		a.Off = true
		logger.Info("authentication off: listening on loopback only; configure --auth-file or OIDC before exposing fixloop")
	default:
		return nil, usageError("refusing to serve %s without authentication: configure --auth-file / FIXLOOP_AUTH_FILE, "+
			"--auth-oidc-issuer or --auth-tokenreview-audience, listen on 127.0.0.1, or pass --insecure-no-auth", cfg.Listen)
	}
	if !a.Off && a.Static != nil {
		tok, err := auth.NewToken()
		if err != nil {
			return nil, err
		}
		a.Static.Add("fixloop-internal", tok, []string{auth.ScopeRead, auth.ScopeFix})
		s.internalToken = tok
	}
	s.origins = auth.Origins{Hosts: set.AllowedHosts, Loopback: loopback, TrustedOrigins: set.TrustedOrigins}
	s.audit = &auth.Audit{Logger: logger}
	return s, nil
}

func buildAuthenticator(set securitySettings, deps tools.Deps, logger *slog.Logger) (*auth.Authenticator, error) {
	static, err := auth.NewStatic(set.AuthFile)
	if err != nil {
		return nil, usageError("%v", err)
	}
	if set.LegacyA2AToken != "" { // FIXLOOP_A2A_TOKEN: what it allowed before scopes existed
		static.Add("a2a-token", set.LegacyA2AToken, []string{auth.ScopeRead, auth.ScopeIssue, auth.ScopeFix})
	}
	a := &auth.Authenticator{Static: static, Logger: logger, ResourceMetadata: func(r *http.Request) string {
		return publicBase(set.PublicURL, r) + "/.well-known/oauth-protected-resource/mcp"
	}}
	if set.TokenReviewAudience != "" {
		if deps.Kube == nil {
			return nil, usageError("--auth-tokenreview-audience needs a cluster (--kubeconfig or in-cluster)")
		}
		if a.Reviewer, err = auth.NewTokenReviewer(deps.Kube.Typed(), set.TokenReviewAudience, static.ServiceAccountScopes); err != nil {
			return nil, usageError("%v", err)
		}
	}
	if set.OIDCIssuer != "" || set.OIDCAudience != "" {
		if a.OIDC, err = auth.NewOIDC(set.OIDCIssuer, set.OIDCAudience, set.OIDCScopePrefix, nil); err != nil {
			return nil, usageError("%v", err)
		}
	}
	return a, nil
}

func isLoopbackListen(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// publicBase is the server's external base URL: the configured public URL, else the request's host.
func publicBase(public string, r *http.Request) string {
	if public != "" {
		return strings.TrimRight(public, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// route kinds of the policy.
type routeKind int

const (
	routeProtected routeKind = iota // needs a credential (and maybe a scope)
	routePublic                     // health, readiness, cards, resource metadata
	routeHidden                     // disabled by configuration: 404
)

// policy says what a request needs. streaming routes get no write deadline (MCP SSE, A2A streams).
func (s *security) policy(r *http.Request) (kind routeKind, route auth.Route, streaming bool) {
	p := r.URL.Path
	route = auth.Route{Deny: auth.DenyJSON}
	switch {
	case p == "/healthz" || p == "/readyz":
		return routePublic, route, false
	case strings.HasPrefix(p, "/.well-known/oauth-protected-resource"):
		return routePublic, route, false
	case r.Method == http.MethodGet && isCardPath(p):
		return routePublic, route, false
	case p == "/mcp":
		route.Scope = auth.ScopeRead
		return routeProtected, route, true
	case strings.HasPrefix(p, "/agents/"):
		name, _, _ := strings.Cut(strings.TrimPrefix(p, "/agents/"), "/")
		route.Deny, route.Scope = auth.DenyJSONRPC, auth.ScopeRead
		if s.host != nil {
			route.Scope = s.host.Scope(name)
		}
		return routeProtected, route, true
	case p == "/a2a/analyze" || p == "/":
		return s.pluginPolicy(route)
	case strings.HasPrefix(p, "/slack/"): // Slack signs its requests; the bridge verifies (internal/slack)
		return routePublic, route, false
	case p == "/metrics" && s.set.MetricsPublic:
		return routePublic, route, false
	case p == triage.WebhookPath && r.Method == http.MethodPost:
		return routePublic, route, false // authenticated by its X-Hub-Signature-256 (mounted only with a secret)
	}
	route.Scope = auth.ScopeRead
	return routeProtected, route, false
}

func (s *security) pluginPolicy(route auth.Route) (routeKind, auth.Route, bool) {
	switch s.set.PluginRoute {
	case pluginVerdicts:
		route.Scope, route.Anonymous = auth.ScopeRead, pluginAnonymous
	case pluginAuthenticated:
		route.Scope = auth.ScopeRead
	default:
		return routeHidden, route, false
	}
	return routeProtected, route, false
}

// isCardPath: agent cards are public (A2A discovery), on their well-known paths and at the agent URL.
func isCardPath(p string) bool {
	if strings.HasSuffix(p, "/.well-known/agent-card.json") || strings.HasSuffix(p, "/.well-known/agent.json") {
		return true
	}
	rest, ok := strings.CutPrefix(p, "/agents/")
	return ok && rest != "" && !strings.Contains(strings.TrimSuffix(rest, "/"), "/")
}

// wrap puts the layer in front of next: Host/Origin guard, then authentication and scope, the
// identity's rate limit, the MCP session cap, and the body limits; write deadlines on non-streaming
// routes.
func (s *security) wrap(next http.Handler) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind, route, streaming := s.policy(r)
		var h http.Handler = next
		if !streaming {
			h = auth.WriteWithin(s.set.WriteTimeout, h)
		}
		switch kind {
		case routeHidden:
			auth.DenyJSON(w, r, auth.Denial{Status: http.StatusNotFound, Code: "not_found",
				Message: "the AI metric plugin route is off (set auth.pluginRoute / --plugin-route to verdicts or authenticated)"})
			return
		case routePublic:
			h.ServeHTTP(w, r)
			return
		}
		h = auth.ReadBody(s.set.MaxBodyBytes, s.set.BodyTimeout, route.Deny, h)
		if r.URL.Path == "/mcp" {
			h = s.sessions.wrap(h)
		}
		h = s.limiter.Wrap(route.Deny, h)
		s.authn.Wrap(route, h).ServeHTTP(w, r)
	})
	guarded := s.origins.Wrap(auth.DenyJSON, inner)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" { // kubelet probes by pod IP
			inner.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/slack/") { // Slack posts forms server-to-server; its signature guards them
			inner.ServeHTTP(w, r)
			return
		}
		guarded.ServeHTTP(w, r)
	})
}

// resourceURL is the MCP endpoint's URL, the "resource" of its RFC 9728 metadata.
func (s *security) resourceURL(r *http.Request) string {
	return publicBase(s.set.PublicURL, r) + "/mcp"
}

// register mounts the protected-resource metadata (RFC 9728) at the root and the /mcp path-suffixed
// well-known URL, which MCP clients try.
func (s *security) register(mux *http.ServeMux) {
	h := s.authn.ProtectedResource(s.resourceURL)
	mux.Handle("GET /.well-known/oauth-protected-resource", h)
	mux.Handle("GET /.well-known/oauth-protected-resource/mcp", h)
}

// cardSecurity is what the A2A cards declare: exactly the configured schemes.
func (s *security) cardSecurity() agents.Security {
	if s.authn.Off {
		return agents.Security{}
	}
	sec := agents.Security{Bearer: (s.authn.Static != nil && !s.authn.Static.Empty()) || s.authn.Reviewer != nil}
	if s.authn.OIDC != nil {
		sec.OIDCIssuer = s.authn.OIDC.Issuer()
	}
	return sec
}

func (s *security) String() string {
	return fmt.Sprintf("schemes=%v off=%v", s.authn.Schemes(), s.authn.Off)
}

// serverTimeouts are http.Server's: headers must arrive promptly; bodies are bounded per route by
// auth.ReadBody, writes by WriteWithin (a server-wide WriteTimeout would cut event streams).
func serverTimeouts(hs *http.Server) {
	hs.ReadHeaderTimeout = 10 * time.Second
	hs.IdleTimeout = 2 * time.Minute
	hs.MaxHeaderBytes = 64 << 10
}

// sessionCap is the MCP session id manager: it tracks live sessions (dropping those idle past ttl) so
// that a flood of initialize calls cannot grow memory without bound; new sessions are refused with
// 503 once max are live.
type sessionCap struct {
	max  int
	ttl  time.Duration
	mu   sync.Mutex
	live map[string]time.Time
}

func newSessionCap(max int, ttl time.Duration) *sessionCap {
	if ttl <= 0 {
		ttl = 10 * time.Minute
	}
	return &sessionCap{max: max, ttl: ttl, live: map[string]time.Time{}}
}

const mcpSessionPrefix = "mcp-session-"

func (c *sessionCap) Generate() string {
	id := mcpSessionPrefix + uuid.NewString()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.live[id] = time.Now()
	return id
}

func (c *sessionCap) Validate(id string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen, ok := c.live[id]
	if !ok || time.Since(seen) > c.ttl {
		delete(c.live, id)
		return false, fmt.Errorf("session %q not found or expired: initialize again", id)
	}
	c.live[id] = time.Now()
	return false, nil
}

func (c *sessionCap) Terminate(id string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.live, id)
	return false, nil
}

// full sweeps idle sessions and reports whether no new one may start.
func (c *sessionCap) full() bool {
	if c.max <= 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, seen := range c.live {
		if time.Since(seen) > c.ttl {
			delete(c.live, id)
		}
	}
	return len(c.live) >= c.max
}

// wrap refuses a request that would open a session (a POST without Mcp-Session-Id) when full.
func (c *sessionCap) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Header.Get("Mcp-Session-Id") == "" && c.full() {
			w.Header().Set("Retry-After", "60")
			auth.DenyJSON(w, r, auth.Denial{Status: http.StatusServiceUnavailable, Code: "too_many_sessions",
				Message: fmt.Sprintf("%d MCP sessions are open (the limit, --mcp-max-sessions); close one or retry later", c.max)})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// securitySettings are the auth and limit settings (internal/config's Auth and Limits sections).
type securitySettings struct {
	AuthFile, OIDCIssuer, OIDCAudience, OIDCScopePrefix, TokenReviewAudience string
	InsecureNoAuth, MetricsPublic                                            bool
	PluginRoute                                                              string
	AllowedHosts, TrustedOrigins                                             []string
	PublicURL, LegacyA2AToken                                                string
	MaxBodyBytes                                                             int64
	BodyTimeout, WriteTimeout                                                time.Duration
	RatePerSecond                                                            float64
	RateBurst, MCPMaxSessions                                                int
	MCPSessionIdle, TaskMaxAge                                               time.Duration
	TaskMaxCount                                                             int
}

func settingsFrom(cfg *config.Config) securitySettings {
	a, l := cfg.Auth, cfg.Limits
	return securitySettings{AuthFile: a.File, OIDCIssuer: a.OIDCIssuer, OIDCAudience: a.OIDCAudience, OIDCScopePrefix: a.OIDCScopePrefix,
		TokenReviewAudience: a.TokenReviewAudience, InsecureNoAuth: a.InsecureNoAuth, MetricsPublic: a.MetricsPublic,
		PluginRoute: a.PluginRoute, AllowedHosts: a.AllowedHosts, TrustedOrigins: a.TrustedOrigins,
		PublicURL: cfg.PublicURL, LegacyA2AToken: cfg.A2A.Token,
		MaxBodyBytes: int64(l.MaxBodyBytes), BodyTimeout: l.BodyTimeout.Duration, WriteTimeout: l.WriteTimeout.Duration,
		RatePerSecond: float64(l.RatePerSecond), RateBurst: l.RateBurst, MCPMaxSessions: l.MCPMaxSessions,
		MCPSessionIdle: l.MCPSessionIdle.Duration, TaskMaxAge: l.TaskMaxAge.Duration, TaskMaxCount: l.TaskMaxCount}
}

// pruneTasks deletes finished A2A tasks past the retention limits (age, count) at start and then every
// ten minutes, until ctx ends.
func (s *security) pruneTasks(ctx context.Context) {
	sc, ok := s.store.(store.TaskScoper)
	if !ok || (s.set.TaskMaxAge <= 0 && s.set.TaskMaxCount <= 0) {
		return
	}
	tick := time.NewTicker(10 * time.Minute)
	defer tick.Stop()
	for {
		n, err := sc.PruneTasks(ctx, s.set.TaskMaxAge, s.set.TaskMaxCount)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("task retention: prune failed", "err", err)
		case n > 0:
			s.log.Info("task retention: deleted finished tasks", "count", n, "maxAge", s.set.TaskMaxAge, "maxCount", s.set.TaskMaxCount)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
