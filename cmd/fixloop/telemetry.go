package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"go.opentelemetry.io/otel/attribute"

	"github.com/fixloop/fixloop/internal/config"
	"github.com/fixloop/fixloop/internal/telemetry"
)

// startTracing installs the OTLP exporter when --otel-endpoint is set; the returned function flushes
// the spans still buffered (called on shutdown).
func startTracing(ctx context.Context, cfg *config.Config, logger *slog.Logger) (func(), error) {
	shutdown, err := telemetry.Setup(ctx, cfg.TraceSettings(version))
	if err != nil {
		return nil, usageError("--otel-endpoint: %v", err)
	}
	if cfg.Telemetry.Endpoint != "" {
		logger.Info("tracing", "otlp", cfg.Telemetry.Endpoint, "sampling", cfg.TraceSettings(version).Sampling)
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := shutdown(sctx); err != nil {
			logger.Warn("flushing traces", "err", err)
		}
	}, nil
}

// traceTool makes each MCP tool call a span, the parent of the tool's Kubernetes, Prometheus, GitHub and
// LLM calls.
func traceTool(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		ctx, span := telemetry.StartToolCall(ctx, req.Params.Name)
		res, err := next(ctx, req)
		if err == nil && res != nil && res.IsError {
			span.SetAttributes(attribute.String("error.type", "tool_error"))
		}
		telemetry.End(span, err)
		return res, err
	}
}

// routeName names a server span by route, not by path: paths carry IDs (reports, tasks).
func routeName(r *http.Request) string {
	p := r.URL.Path
	for _, prefix := range []string{"/mcp", "/agents/", "/a2a/", "/argo/", "/reports/", "/slack/", "/github/", "/.well-known/"} {
		if strings.HasPrefix(p, prefix) {
			rest := strings.TrimPrefix(p, prefix)
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				rest = rest[:i]
			}
			if prefix == "/mcp" || prefix == "/reports/" {
				return strings.TrimSuffix(prefix, "/")
			}
			return prefix + rest
		}
	}
	return p
}
