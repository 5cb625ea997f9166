package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/tools"
)

// toolScope is the scope a tool needs: open_issue (the issues toolset) needs issue, fix_issue (the fix
// toolset) fix, other write tools (promote, abort) need write, everything else read.
func toolScope(t tools.Tool) string {
	switch {
	case t.Toolset == tools.ToolsetFix:
		return auth.ScopeFix
	case t.Toolset == tools.ToolsetIssues && t.Write:
		return auth.ScopeIssue
	case t.Write:
		return auth.ScopeWrite
	}
	return auth.ScopeRead
}

func toolScopes(d tools.Deps) map[string]string {
	out := map[string]string{}
	for _, t := range tools.All(d) {
		out[t.Tool.Name] = toolScope(t)
	}
	return out
}

// scopeMiddleware refuses a tool call whose caller lacks the tool's scope with an MCP error result
// naming the scope, and records every write tool call in the audit log (refused ones too).
func scopeMiddleware(scopes map[string]string, audit *auth.Audit) server.ToolHandlerMiddleware {
	return func(next server.ToolHandlerFunc) server.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			name := req.Params.Name
			scope, known := scopes[name]
			if !known {
				scope = auth.ScopeAdmin // a tool nobody classified is not callable by accident
			}
			write := scope != auth.ScopeRead
			if !auth.Allowed(ctx, scope) {
				err := auth.MissingScope(ctx, scope, "tool "+name)
				if write {
					audit.Record(ctx, auth.AuditEvent{Action: name, Target: toolTarget(req), Result: "refused", Detail: err.Error()})
				}
				return mcp.NewToolResultError(err.Error()), nil
			}
			res, err := next(ctx, req)
			if write {
				result, detail := "ok", ""
				switch {
				case err != nil:
					result, detail = "error", err.Error()
				case res != nil && res.IsError:
					result, detail = "error", resultText(res)
				}
				audit.Record(ctx, auth.AuditEvent{Action: name, Target: toolTarget(req), Result: result, Detail: detail})
			}
			return res, err
		}
	}
}

// toolFilter hides from tools/list the tools the caller cannot call. mcp-go also runs filters on each
// tools/call with that one tool; it is let through there so scopeMiddleware answers with an error naming
// the missing scope instead of "tool not found" (every caller of /mcp holds read, so a one-tool list
// of a read tool is never wrongly shown).
func toolFilter(scopes map[string]string) server.ToolFilterFunc {
	return func(ctx context.Context, in []mcp.Tool) []mcp.Tool {
		if len(in) == 1 {
			return in
		}
		out := in[:0:0]
		for _, t := range in {
			if s, ok := scopes[t.Name]; ok && auth.Allowed(ctx, s) {
				out = append(out, t)
			}
		}
		return out
	}
}

// toolTarget names what a write tool acts on, for the audit log.
func toolTarget(req mcp.CallToolRequest) string {
	args := req.GetArguments()
	str := func(k string) string { s, _ := args[k].(string); return s }
	if repo := str("repo"); repo != "" || req.Params.Name == "open_issue" {
		return strings.TrimSpace(repo + " " + str("fingerprint"))
	}
	return fmt.Sprintf("%s/%s", str("namespace"), str("name"))
}

func resultText(res *mcp.CallToolResult) string {
	for _, c := range res.Content {
		if t, ok := c.(mcp.TextContent); ok {
			return t.Text
		}
	}
	return ""
}
