package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/config"
	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/monitor"
	"github.com/fixloop/fixloop/internal/prom"
	"github.com/fixloop/fixloop/internal/report"
	"github.com/fixloop/fixloop/skills"
	"github.com/fixloop/fixloop/tools"
)

func init() { rootCmd.AddCommand(newMCPCmd()) }

func newMCPCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve the fixloop tools over MCP stdio (what Claude Desktop, Claude Code and Cursor launch)",
		Long: "Serve fixloop's MCP tools over stdin/stdout. Logs go to stderr only. Starts without a cluster or Prometheus: the tools then " +
			"answer with the setting to fix.\n\nEnvironment: " + strings.Join(config.Env(), ", "),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags(), nil)
			if err != nil {
				return usageError("%v", err)
			}
			logger := cfg.Logger(os.Stderr) // stdout carries the protocol
			flush, err := startTracing(cmd.Context(), cfg, logger)
			if err != nil {
				return err
			}
			defer flush()
			srv, _, err := newMCPServer(cfg, logger, nil, &auth.Audit{Logger: logger})
			if err != nil {
				return err
			}
			stdio := server.NewStdioServer(srv)
			stdio.SetErrorLogger(log.New(os.Stderr, "fixloop mcp: ", 0))
			logger.Info("serving MCP on stdio")
			err = stdio.Listen(cmd.Context(), os.Stdin, os.Stdout)
			if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return err
		},
	}
	config.AddFlags(cmd.Flags())
	return cmd
}

// buildDeps connects the backends named in cfg. A missing cluster or Prometheus is not an error (the
// tools say what to configure); a configured but broken one (bad kubeconfig, unknown context) is.
func buildDeps(cfg *config.Config, logger *slog.Logger) (tools.Deps, error) {
	d := tools.Deps{Logger: logger, Version: version, ReadOnly: cfg.ReadOnly, PromQL: cfg.Prometheus.PromQL, MetricsSource: cfg.Prometheus.Source,
		Monitor: monitor.NewStatus(cfg.Store, cfg.StateDir), Reports: &report.Recorder{BaseURL: cfg.PublicURL}, Fixer: &hostFixer{}}
	kc, err := kube.New(kube.Options{Kubeconfig: cfg.Kube.Kubeconfig, Context: cfg.Kube.Context, Timeout: cfg.Kube.Timeout.Duration})
	switch {
	case errors.Is(err, kube.ErrNoCluster):
		logger.Warn("no cluster configured: cluster tools will ask for KUBECONFIG or --kubeconfig")
	case err != nil:
		return d, usageError("%v", err)
	default:
		d.Kube = kc
		logger.Info("cluster", "server", kc.Server(), "context", kc.Context())
	}
	if cfg.Prometheus.URL != "" {
		pc, err := prom.New(cfg.Prometheus.URL, cfg.Prometheus.Timeout.Duration)
		if err != nil {
			return d, usageError("%v", err)
		}
		d.Prom = pc
		logger.Info("prometheus", "url", cfg.Prometheus.URL)
	} else {
		logger.Warn("no Prometheus configured: get_metrics will ask for FIXLOOP_PROMETHEUS_URL or --prometheus-url")
	}
	// open_issue and the agents share one GitHub client and one LLM built from the validated settings.
	gh, err := githubClient(cfg, d.Redactor, logger)
	if err != nil {
		return d, usageError("%v", err)
	}
	if gh != nil {
		d.GitHub = gh
	}
	d.GitHubRepo = cfg.GitHub.Repo
	d.Notifier = slackNotifier(cfg, d.Redactor, logger)
	if d.LLM, err = llmProvider(cfg); err != nil {
		return d, usageError("%v", err)
	}
	if d.LLM != nil {
		logger.Info("llm", "provider", d.LLM.Name(), "model", cfg.LLM.Model)
	}
	return d, nil
}

// serverMetrics counts tool calls; registered on the serve command's /metrics.
type serverMetrics struct {
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newServerMetrics(reg prometheus.Registerer) *serverMetrics {
	m := &serverMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fixloop_mcp_tool_calls_total", Help: "MCP tool calls by tool and result (ok, tool_error, protocol_error)."},
			[]string{"tool", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "fixloop_mcp_tool_call_duration_seconds", Help: "MCP tool call duration.",
			Buckets: []float64{.001, .005, .025, .1, .5, 1, 2.5, 10, 30, 120}}, []string{"tool"}),
	}
	reg.MustRegister(m.calls, m.duration)
	return m
}

func (m *serverMetrics) middleware(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		start := time.Now()
		res, err := next(ctx, req)
		result := "ok"
		switch {
		case err != nil:
			result = "protocol_error"
		case res != nil && res.IsError:
			result = "tool_error"
		}
		m.calls.WithLabelValues(req.Params.Name, result).Inc()
		m.duration.WithLabelValues(req.Params.Name).Observe(time.Since(start).Seconds())
		return res, err
	}
}

// newMCPServer builds the MCP server with the configured tools and the embedded skills as prompts. Each
// tool call is checked against the caller's scopes (an HTTP caller's identity; stdio has none and is the
// operator) and write calls are audited.
func newMCPServer(cfg *config.Config, logger *slog.Logger, metrics *serverMetrics, audit *auth.Audit) (*server.MCPServer, tools.Deps, error) {
	opts := tools.Options{ReadOnly: cfg.ReadOnly, Toolsets: cfg.Toolsets}
	if err := tools.CheckOptions(opts); err != nil {
		return nil, tools.Deps{}, usageError("--toolsets / FIXLOOP_TOOLSETS: %v", err)
	}
	for name := range cfg.Prometheus.PromQL {
		if !slices.Contains(tools.PromQLNames(), name) {
			return nil, tools.Deps{}, usageError("prometheus.promql: unknown metric %q (known: %s)", name, strings.Join(tools.PromQLNames(), ", "))
		}
	}
	deps, err := buildDeps(cfg, logger)
	if err != nil {
		return nil, deps, err
	}
	sopts := []server.ServerOption{
		server.WithToolCapabilities(false),
		server.WithPromptCapabilities(false),
		server.WithRecovery(),
		server.WithResourceRecovery(),
		server.WithResourceCapabilities(true, false), // subscribe: tools/subscriptions.go
		server.WithLogging(),
		server.WithCompletions(),
		server.WithPromptCompletionProvider(tools.Completer{Deps: deps}),
		server.WithResourceCompletionProvider(tools.Completer{Deps: deps}),
		// Arguments are validated by each tool's handler (tools/validate.go), whose errors name the bad
		// argument and the valid ones; mcp-go's validator would answer first with a struct dump.
		server.WithInstructions("fixloop inspects Kubernetes workloads and Argo Rollouts canaries. Start with get_architecture, then get_logs " +
			"(summarize:true to compare canary with stable) and get_metrics; promote_rollout / abort_rollout act on a rollout. " +
			"Missing data means inconclusive, never a silent promote."),
	}
	sopts = append(sopts, server.WithToolHandlerMiddleware(traceTool))
	if metrics != nil {
		sopts = append(sopts, server.WithToolHandlerMiddleware(metrics.middleware))
	}
	scopes := toolScopes(deps)
	sopts = append(sopts, server.WithToolHandlerMiddleware(scopeMiddleware(scopes, audit)), server.WithToolFilter(toolFilter(scopes)))
	hooks := &server.Hooks{}
	subs := tools.NewSubscriptions()
	subs.AddHooks(hooks)
	sopts = append(sopts, server.WithHooks(hooks))
	srv := server.NewMCPServer("fixloop", version, sopts...)
	subs.Attach(srv)
	tools.Register(srv, deps, opts)
	tools.RegisterResources(srv, deps)
	registerPrompts(srv)
	logger.Debug("tools registered", "count", len(srv.ListTools()), "readOnly", cfg.ReadOnly, "toolsets", cfg.Toolsets)
	return srv, deps, nil
}

// promptTargets are the arguments naming what a triage playbook is about; tools.Completer suggests
// their values from the cluster.
var promptTargets = map[string][]string{
	"analyze_canary":      {"namespace", "rollout"},
	"investigate_service": {"namespace", "workload"},
}

var placeholderRE = regexp.MustCompile(`\{\{([a-zA-Z_][a-zA-Z0-9_]*)\}\}`)

// registerPrompts serves every embedded skill as an MCP prompt; its {{placeholders}} become optional
// arguments.
func registerPrompts(srv *server.MCPServer) {
	for _, sk := range skills.All() {
		popts := []mcp.PromptOption{mcp.WithPromptDescription(sk.Description)}
		if sk.Title != "" {
			popts = append(popts, mcp.WithPromptTitle(sk.Title))
		}
		seen := map[string]bool{}
		for _, m := range placeholderRE.FindAllStringSubmatch(sk.Body, -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				popts = append(popts, mcp.WithArgument(m[1], mcp.ArgumentDescription(fmt.Sprintf("value for {{%s}} in the playbook", m[1]))))
			}
		}
		targets := promptTargets[sk.Name]
		for _, a := range targets {
			if !seen[a] {
				popts = append(popts, mcp.WithArgument(a, mcp.ArgumentDescription(a+" to look at (completions list what the cluster holds)")))
			}
		}
		sk := sk
		srv.AddPrompt(mcp.NewPrompt(sk.Name, popts...), func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			text := skills.Render(sk.Body, req.Params.Arguments)
			var named []string
			for _, a := range targets {
				if v := strings.TrimSpace(req.Params.Arguments[a]); v != "" {
					named = append(named, a+" "+v)
				}
			}
			if len(named) > 0 {
				text += "\n\nTarget: " + strings.Join(named, ", ") + "."
			}
			return mcp.NewGetPromptResult(sk.Description, []mcp.PromptMessage{
				mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(text)),
			}), nil
		})
	}
}
