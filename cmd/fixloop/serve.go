package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/config"
	"github.com/fixloop/fixloop/internal/telemetry"
	"github.com/fixloop/fixloop/tools"
)

func init() { rootCmd.AddCommand(newServeCmd()) }

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve MCP over streamable HTTP at /mcp, plus /healthz, /readyz, /metrics and the agent endpoints",
		Long: "Serve fixloop over HTTP: MCP (streamable HTTP) at /mcp, liveness /healthz, readiness /readyz, Prometheus metrics of the server " +
			"itself at /metrics, and the A2A agents. Starts without a cluster or Prometheus.\n\n" +
			"Every route but /healthz, /readyz and the agent cards needs a bearer credential: a token of the auth file (--auth-file; " +
			"fixloop token new), a ServiceAccount token (--auth-tokenreview-audience) or an OIDC token (--auth-oidc-issuer/-audience). " +
			"Without any, serve listens only on loopback (or with --insecure-no-auth).\n\nEnvironment: " + strings.Join(config.Env(), ", "),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags(), nil)
			if err != nil {
				return usageError("%v", err)
			}
			logger := cfg.Logger(os.Stderr)
			return runServe(cmd.Context(), cfg, logger)
		},
	}
	config.AddFlags(cmd.Flags())
	return cmd
}

// runServe listens on cfg.Listen until ctx ends, then shuts down gracefully.
func runServe(ctx context.Context, cfg *config.Config, logger *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := telemetry.Register(reg); err != nil {
		return err
	}
	flush, err := startTracing(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer flush()
	metrics := newServerMetrics(reg)
	audit := &auth.Audit{Logger: logger}
	srv, deps, err := newMCPServer(cfg, logger, metrics, audit)
	if err != nil {
		return err
	}
	sec, err := newSecurity(cfg, deps, logger)
	if err != nil {
		return err
	}
	sec.audit = audit
	mux, err := newServeMux(cfg, srv, deps, reg, logger, sec)
	if err != nil {
		return err
	}
	tools.RegisterRecords(srv, deps, serveStore) // opened by mountAgents
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return usageError("listen on %s (--listen / FIXLOOP_LISTEN): %v", cfg.Listen, err)
	}
	// The server span is outermost so the access log line and every call below carry its trace ID.
	hs := &http.Server{Handler: telemetry.Handler(accessLog(logger, sec.wrap, mux), routeName)}
	serverTimeouts(hs)
	if cfg.TLS.Enabled() {
		certs, err := newCertReloader(cfg.TLS, logger)
		if err != nil {
			ln.Close()
			return usageError("%v", err)
		}
		hs.TLSConfig = serveTLSConfig(certs)
	}
	base := loopbackURL(ln.Addr().String(), hs.TLSConfig != nil)
	if deps.Reports != nil && deps.Reports.BaseURL == "" { // no public URL: report links name the port really bound
		deps.Reports.BaseURL = base
	}
	go sec.pruneTasks(ctx)
	logger.Info("serving", "addr", ln.Addr().String(), "mcp", base+"/mcp", "tls", hs.TLSConfig != nil)
	errc := make(chan error, 1)
	go func() {
		if hs.TLSConfig != nil {
			errc <- hs.ServeTLS(ln, "", "") // certificates come from TLSConfig.GetCertificate
			return
		}
		errc <- hs.Serve(ln)
	}()
	startMonitor(ctx, reg, logger) // --monitor: the scheduled monitor and the rollout watcher, leader-elected
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newServeMux wires every HTTP endpoint. Agent routes are added by mountAgents (serve_agents.go). The
// mux is served behind sec.wrap: authentication and limits are decided there, per path.
func newServeMux(cfg *config.Config, srv *server.MCPServer, deps tools.Deps, reg *prometheus.Registry, logger *slog.Logger, sec *security) (*http.ServeMux, error) {
	mux := http.NewServeMux()
	httpRequests := newHTTPRequests(reg)
	count := func(route string, h http.Handler) http.Handler {
		return promhttp.InstrumentHandlerCounter(httpRequests.MustCurryWith(prometheus.Labels{"route": route}), h)
	}
	mcpHandler := server.NewStreamableHTTPServer(srv,
		server.WithEndpointPath("/mcp"),
		server.WithStreamableHTTPLogger(logger),
		server.WithHeartbeatInterval(30*time.Second),
		server.WithSessionIdleTTL(sec.set.MCPSessionIdle),
		server.WithSessionIdManager(sec.sessions),
	)
	mux.Handle("/mcp", count("/mcp", mcpHandler))
	mux.Handle("/healthz", count("/healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "ok")
	})))
	mux.Handle("/readyz", count("/readyz", newReadiness(deps)))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	sec.register(mux)
	if err := mountAgents(mux, cfg, deps, logger, sec); err != nil {
		return nil, fmt.Errorf("agent endpoints: %w", err)
	}
	return mux, nil
}

func newHTTPRequests(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fixloop_http_requests_total", Help: "HTTP requests by route and status code."}, []string{"route", "code"})
	reg.MustRegister(c)
	return c
}

// readiness reports each backend. Only an unreachable configured cluster makes it 503: without the
// cluster nothing useful can be answered; Prometheus being down only degrades get_metrics.
type readiness struct {
	deps tools.Deps
	mu   sync.Mutex
	at   time.Time
	body map[string]string
	code int
}

func newReadiness(d tools.Deps) *readiness { return &readiness{deps: d} }

func (r *readiness) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.at) > 10*time.Second { // cache: probes must not hammer the apiserver
		r.check(req.Context())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(r.code)
	_ = json.NewEncoder(w).Encode(r.body)
}

func (r *readiness) check(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	r.at, r.code, r.body = time.Now(), http.StatusOK, map[string]string{"mcp": "ok"}
	if r.deps.Kube == nil {
		r.body["cluster"] = "not configured"
	} else if _, err := r.deps.Kube.Typed().Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err != nil {
		r.body["cluster"] = "unreachable: " + err.Error()
		r.code = http.StatusServiceUnavailable
	} else {
		r.body["cluster"] = "ok"
	}
	if r.deps.Prom == nil {
		r.body["prometheus"] = "not configured"
	} else if _, _, err := r.deps.Prom.Query(ctx, "vector(1)", time.Now()); err != nil {
		r.body["prometheus"] = "unreachable: " + err.Error()
	} else {
		r.body["prometheus"] = "ok"
	}
}
