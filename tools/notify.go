package tools

import (
	"context"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Notifications to the MCP client during a tool call: progress (only when the client sent a progress
// token, as the spec asks) and log messages (filtered by the level the client set with
// logging/setLevel; mcp-go drops those below it). Called in-process by agents, both are no-ops.

type progressKey struct{}

type progressSink struct {
	srv   *server.MCPServer
	token mcp.ProgressToken
}

// withProgress remembers the call's progress token for Progress.
func withProgress(ctx context.Context, req mcp.CallToolRequest) context.Context {
	srv := server.ServerFromContext(ctx)
	if srv == nil || req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return ctx
	}
	return context.WithValue(ctx, progressKey{}, &progressSink{srv: srv, token: req.Params.Meta.ProgressToken})
}

// Progress reports step done of total (0 when unknown) of a long tool call, with a message a person can
// read ("collected stable logs: 3 pods").
func Progress(ctx context.Context, done, total float64, message string) {
	p, ok := ctx.Value(progressKey{}).(*progressSink)
	if !ok {
		return
	}
	params := map[string]any{"progressToken": p.token, "progress": done, "message": message}
	if total > 0 {
		params["total"] = total
	}
	_ = p.srv.SendNotificationToClient(ctx, "notifications/progress", params)
}

// LogToClient sends a notifications/message to the calling MCP client, when there is one.
func LogToClient(ctx context.Context, level mcp.LoggingLevel, logger string, format string, args ...any) {
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return
	}
	_ = srv.SendLogMessageToClient(ctx, mcp.NewLoggingMessageNotification(level, logger, fmt.Sprintf(format, args...)))
}
