package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/fixloop/fixloop/agents"
	"github.com/fixloop/fixloop/agents/triage"
	"github.com/fixloop/fixloop/internal/config"
	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/report"
	"github.com/fixloop/fixloop/internal/store"
	"github.com/fixloop/fixloop/tools"
)

// AgentEnv is what an agent factory gets to build its agent (the fixer plugs in through registerAgent).
type AgentEnv struct {
	Config *config.Config
	Deps   tools.Deps
	Store  store.Store
	GitHub github.Client // nil when no token/base URL is configured
	Logger *slog.Logger
	// BaseURL is this server's loopback URL (http://127.0.0.1:PORT) for agents calling each other.
	BaseURL string
}

// AgentFactory builds one agent for the host. Return (nil, nil) to skip it (e.g. not configured).
type AgentFactory func(env AgentEnv) (*agents.Agent, error)

var (
	agentFactoriesMu sync.Mutex
	agentFactories   []AgentFactory
)

// registerAgent adds an agent to `fixloop serve`; call it from an init in this directory, e.g.
//
//	func init() { registerAgent(func(env AgentEnv) (*agents.Agent, error) { ... }) }
//
// The agent is then served at /agents/<Name> with its card at /agents/<Name>/.well-known/agent-card.json.
func registerAgent(f AgentFactory) {
	agentFactoriesMu.Lock()
	defer agentFactoriesMu.Unlock()
	agentFactories = append(agentFactories, f)
}

// serveStore is kept open for the life of the process (closed by the OS at exit; SQLite WAL is safe).
var serveStore store.Store

// openStateStore opens the configured store (--store, else SQLite in --state-dir); errors say which.
func openStateStore(ctx context.Context, cfg *config.Config) (*store.SQLStore, error) {
	st, err := store.OpenConfigured(ctx, cfg.Store, cfg.StateDir)
	switch {
	case err == nil:
		return st, nil
	case cfg.Store != "":
		return nil, fmt.Errorf("state store (--store / FIXLOOP_STORE): %w", err)
	default:
		return nil, fmt.Errorf("state store in %s (--state-dir / FIXLOOP_STATE_DIR): %w", cfg.StateDir, err)
	}
}

// loadStateStore is what the read-only inspection commands (audit, monitor runs) start with: the
// configuration from their flags, and the state store it names.
func loadStateStore(cmd *cobra.Command) (*config.Config, *store.SQLStore, error) {
	cfg, err := config.Load(cmd.Flags(), nil)
	if err != nil {
		return nil, nil, usageError("%v", err)
	}
	st, err := openStateStore(cmd.Context(), cfg)
	return cfg, st, err
}

// mountAgents adds the A2A host (triage + registered agents), the Argo Rollouts entry points
// (GET /, POST /a2a/analyze, POST /argo/v1/verdict) and resumes tasks interrupted by a restart.
func mountAgents(mux *http.ServeMux, cfg *config.Config, deps tools.Deps, logger *slog.Logger, sec *security) error {
	st, err := openStateStore(context.Background(), cfg)
	if err != nil {
		return err
	}
	serveStore = st
	mountReports(mux, deps, st, logger)
	sec.audit.Store = st
	sec.store = st
	gh := deps.GitHub // built by buildDeps from the GitHub settings; nil when none are set
	base := loopbackURL(cfg.Listen, cfg.TLS.Enabled())
	fixerURL := cfg.Fixer.AgentURL

	host, err := agents.NewHost(agents.Config{Store: st, PublicURL: sec.set.PublicURL, Security: sec.cardSecurity(),
		Version: version, Logger: logger})
	if err != nil {
		return err
	}
	sec.host = host
	env := AgentEnv{Config: cfg, Deps: deps, Store: st, GitHub: gh, Logger: logger, BaseURL: base}
	if fixerURL, err = mountRegistered(host, env, fixerURL); err != nil {
		return err
	}
	if hf, ok := deps.Fixer.(*hostFixer); ok { // MCP's fix_issue reaches the fixer mounted here
		hf.bind(host, st)
	}
	fixerToken := sec.set.LegacyA2AToken
	if fixerURL == agents.AgentURL(base, "fixer") && sec.internalToken != "" {
		fixerToken = sec.internalToken
	}
	if cfg.ReadOnly {
		fixerURL = ""
	}
	tr, err := triage.New(triage.Config{Tools: deps, GitHub: gh, Store: st, FixerURL: fixerURL, FixerToken: fixerToken,
		DefaultRepo: cfg.GitHub.Repo, Logger: logger, ReadOnly: cfg.ReadOnly, Audit: sec.audit, LLM: deps.LLM, Handoff: handoffConfig(cfg),
		Notifier: slackNotifier(cfg, deps.Redactor, logger)})
	if err != nil {
		return err
	}
	if err := host.Mount(tr.Agent()); err != nil {
		return err
	}
	host.Register(mux)
	if err := mountSlack(mux, cfg, newSlackBridge(cfg, slackEnv{deps: deps, triage: tr, host: host, audit: sec.audit, store: st}, logger), logger); err != nil {
		return err
	}
	tr.RegisterArgo(mux)
	tr.RegisterWebhook(mux, cfg.Handoff.WebhookSecret)
	if gh != nil && !cfg.ReadOnly { // a rollout's annotation can hand off even when the global choice is opencode
		go tr.RunHandoffFollower(context.Background())
	}
	tr.RegisterArgoRuns(context.Background(), mux)
	if err := prepareMonitor(cfg, deps, st, tr, host, logger); err != nil {
		return err
	}
	if err := host.Resume(context.Background()); err != nil {
		logger.Warn("could not resume interrupted tasks", "err", err)
	}
	go host.KeepResuming(context.Background()) // a task whose replica died is resumed by a live one
	logger.Info("agents mounted", "triage", base+"/agents/triage", "fixer", fixerURL, "stateDir", cfg.StateDir, "github", gh != nil)
	return nil
}

// mountRegistered mounts the agents registered with registerAgent (the fixer among them) and returns the
// fixer URL to delegate to: the configured one, else a fixer mounted here.
func mountRegistered(host *agents.Host, env AgentEnv, fixerURL string) (string, error) {
	cfg, logger, base := env.Config, env.Logger, env.BaseURL
	agentFactoriesMu.Lock()
	factories := append([]AgentFactory(nil), agentFactories...)
	agentFactoriesMu.Unlock()
	for _, f := range factories {
		a, err := f(env)
		if err != nil {
			return "", err
		}
		if a == nil {
			continue
		}
		if a.Name == "fixer" && cfg.ReadOnly { // --read-only removes every write path, the fixer included
			logger.Info("fixer agent not mounted: --read-only")
			continue
		}
		if err := host.Mount(*a); err != nil {
			return "", err
		}
		// A fixer mounted in this process is the default delegation target.
		if a.Name == "fixer" && fixerURL == "" {
			fixerURL = agents.AgentURL(base, "fixer")
		}
	}
	return fixerURL, nil
}

// mountReports serves the verdict pages (a read-scoped route, as every route not listed public in
// serve_auth.go) and lets compare_canary keep them in the state store.
func mountReports(mux *http.ServeMux, deps tools.Deps, st store.Store, logger *slog.Logger) {
	if deps.Reports != nil {
		deps.Reports.KV = st
	}
	mux.Handle("/reports/{id}", report.Handler(st, deps.Redactor, logger))
}

// loopbackURL is the URL this server answers on from inside its own pod (a wildcard listen address
// becomes 127.0.0.1).
func loopbackURL(listen string, tls bool) string {
	scheme := "http://"
	if tls {
		scheme = "https://"
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return scheme + listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" || strings.HasPrefix(host, "[") {
		host = "127.0.0.1"
	}
	return scheme + net.JoinHostPort(host, port)
}

// handoffConfig passes the fixer choice (global, per namespace, per rollout annotation) down to triage.
func handoffConfig(cfg *config.Config) triage.HandoffConfig {
	h := cfg.Handoff
	return triage.HandoffConfig{
		FixerFor: func(ns, annotation string) (string, string, error) {
			c, err := h.FixerFor(ns, annotation)
			return c.Kind, c.Value, err
		},
		PRTimeout: h.PRTimeout.Duration, PollInterval: h.PollInterval.Duration, Wait: h.Wait.Duration,
	}
}
