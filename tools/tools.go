// Package tools holds fixloop's MCP tools. Each tool lives in its own file with its typed input/output
// structs, a plain Go function agents call in-process, and its registration:
//
//	func init() {
//		Add(Spec{Name: "get_logs", Toolset: ToolsetCluster, ...}, GetLogs)
//	}
//
// Add derives the JSON input and output schemas from the typed structs (json tags; descriptions from the
// `jsonschema:"..."` tag; enums/defaults/bounds through Spec.InputProps), wraps the function in an MCP
// handler with a timeout, and turns errors into isError results.
package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/llm"
	"github.com/fixloop/fixloop/internal/monitor"
	"github.com/fixloop/fixloop/internal/prom"
	"github.com/fixloop/fixloop/internal/redact"
	"github.com/fixloop/fixloop/internal/report"
	"github.com/fixloop/fixloop/internal/slack"
)

// Deps are the backends a tool may use. A nil backend makes the tools that need it answer with an
// error naming the setting to fix; the server still starts and lists every tool.
type Deps struct {
	Kube kube.Client
	Prom prom.Client
	// GitHub files issues (open_issue); nil: open_issue answers "no GitHub configured".
	GitHub github.Client
	// GitHubRepo is open_issue's repository when a call names none (github.repo).
	GitHubRepo string
	// LLM lets the judge explain and weigh in (compare_canary, triage); nil: deterministic only.
	LLM llm.Provider
	// Redactor scrubs secrets from everything tools return; nil means redact.Default().
	Redactor *redact.Redactor
	// PromQL overrides the default query of a get_metrics metric by name (see MetricNames).
	PromQL map[string]string
	// MetricsSource forces the HTTP metrics source of every workload (config prometheus.source); a
	// Rollout's annotation still wins. Empty: discovered.
	MetricsSource string
	Logger        *slog.Logger
	// Version is reported by server_info.
	Version string
	// ReadOnly is reported by server_info (write tools are then not registered at all).
	ReadOnly bool
	// Monitor is the health monitor's status and store (list_findings, server_info); nil: not available.
	Monitor *monitor.Status
	// Fixer runs the fixer agent on an issue fixloop filed (fix_issue); nil: not available.
	Fixer Fixer
	// Reports keeps a page per verdict (compare_canary returns its URL); nil or without a store: none.
	Reports *report.Recorder
	// Notifier posts opened issues to Slack (nil: off).
	Notifier *slack.Notifier
}

// Toolsets group tools so a user can enable a subset (--toolsets).
const (
	ToolsetCore     = "core"     // server_info: always registered
	ToolsetCluster  = "cluster"  // read the cluster: architecture, logs
	ToolsetMetrics  = "metrics"  // Prometheus
	ToolsetRollouts = "rollouts" // promote/abort/judge Argo Rollouts
	ToolsetIssues   = "issues"   // GitHub issues
	ToolsetMonitor  = "monitor"  // the scheduled health monitor's runs and findings
	ToolsetFix      = "fix"      // the fixer agent (fix_issue)
)

// Tool is one registered tool: its MCP definition and handler, its toolset, and whether it writes.
type Tool struct {
	Tool    mcp.Tool
	Handler server.ToolHandlerFunc
	Toolset string
	Write   bool
}

// Spec describes a tool for Add.
type Spec struct {
	Name        string
	Title       string
	Description string
	Toolset     string
	// Write marks tools that change the cluster or the outside world; --read-only does not register them.
	Write       bool
	Destructive bool // may undo or discard work (e.g. abort)
	Idempotent  bool // repeating the call with the same arguments has no further effect
	OpenWorld   bool // talks to systems outside the cluster (GitHub, an LLM)
	// Timeout bounds one call (default 60s).
	Timeout time.Duration
	// InputProps is merged into the generated schema of each named input property: enum, default,
	// minimum, maximum, examples...
	InputProps map[string]map[string]any
}

type factory struct {
	spec  Spec
	build func(Deps) Tool
}

var registry = map[string]factory{}

// Add registers a typed tool function. Call it from the tool file's init.
func Add[In, Out any](s Spec, fn func(context.Context, Deps, In) (*Out, error)) {
	if _, dup := registry[s.Name]; dup {
		panic("tools: duplicate tool " + s.Name) // programming error, caught by any test
	}
	def := define[In, Out](s)
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	val := newArgValidator(s.Name, def.RawInputSchema)
	registry[s.Name] = factory{spec: s, build: func(d Deps) Tool {
		return Tool{Tool: def, Toolset: s.Toolset, Write: s.Write, Handler: handler(d, s.Name, timeout, val, fn)}
	}}
}

func define[In, Out any](s Spec) mcp.Tool {
	t := mcp.NewTool(s.Name,
		mcp.WithDescription(s.Description),
		mcp.WithInputSchema[In](),
		mcp.WithOutputSchema[Out](),
		mcp.WithToolAnnotation(mcp.ToolAnnotation{
			Title:           s.Title,
			ReadOnlyHint:    mcp.ToBoolPtr(!s.Write),
			DestructiveHint: mcp.ToBoolPtr(s.Destructive),
			IdempotentHint:  mcp.ToBoolPtr(s.Idempotent),
			OpenWorldHint:   mcp.ToBoolPtr(s.OpenWorld),
		}),
	)
	t.Title = s.Title
	if len(s.InputProps) > 0 {
		var schema map[string]any
		if err := json.Unmarshal(t.RawInputSchema, &schema); err != nil {
			panic(fmt.Sprintf("tools: %s input schema: %v", s.Name, err))
		}
		props, _ := schema["properties"].(map[string]any)
		for name, extra := range s.InputProps {
			p, ok := props[name].(map[string]any)
			if !ok {
				panic(fmt.Sprintf("tools: %s: InputProps names unknown property %q", s.Name, name))
			}
			maps.Copy(p, extra)
		}
		raw, _ := json.Marshal(schema)
		t.RawInputSchema = raw
	}
	singleTypeSchemas(&t)
	return t
}

// handler validates the arguments (naming a wrong argument and the valid ones), runs fn under the tool's
// timeout with progress and log notifications to the client, and returns the result as structured
// content and JSON text.
func handler[In, Out any](d Deps, name string, timeout time.Duration, val *argValidator, fn func(context.Context, Deps, In) (*Out, error)) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		raw, err := json.Marshal(req.GetRawArguments())
		if err != nil {
			return errorResult(d, fmt.Errorf("%s: arguments are not JSON: %w", name, err)), nil
		}
		if string(raw) == "null" {
			raw = []byte("{}")
		}
		if err := val.check(raw); err != nil {
			return errorResult(d, err), nil
		}
		var in In
		if err := json.Unmarshal(raw, &in); err != nil {
			return errorResult(d, fmt.Errorf("%s: arguments do not match the input schema: %w", name, err)), nil
		}
		ctx, cancel := context.WithTimeout(withProgress(ctx, req), timeout)
		defer cancel()
		start := time.Now()
		LogToClient(ctx, mcp.LoggingLevelDebug, name, "%s started", name)
		out, err := fn(ctx, d, in)
		if d.Logger != nil {
			d.Logger.Debug("tool call", "tool", name, "duration", time.Since(start), "error", err)
		}
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
				err = fmt.Errorf("%s did not finish within %s (narrow the query or check the backend): %w", name, timeout, err)
			}
			LogToClient(ctx, mcp.LoggingLevelWarning, name, "%s failed after %s", name, time.Since(start).Round(time.Millisecond))
			return errorResult(d, err), nil
		}
		LogToClient(ctx, mcp.LoggingLevelInfo, name, "%s finished in %s", name, time.Since(start).Round(time.Millisecond))
		structured, err := dropNulls(out)
		if err != nil {
			return errorResult(d, fmt.Errorf("%s: encoding result: %w", name, err)), nil
		}
		text, _ := json.Marshal(structured)
		return &mcp.CallToolResult{
			Content:           append([]mcp.Content{mcp.NewTextContent(string(text))}, reportLink(out)...),
			StructuredContent: structured,
		}, nil
	}
}

func errorResult(d Deps, err error) *mcp.CallToolResult {
	return mcp.NewToolResultError(d.redact(err.Error()))
}

// All returns every tool, sorted by name, bound to d.
func All(d Deps) []Tool {
	names := slices.Sorted(maps.Keys(registry))
	out := make([]Tool, 0, len(names))
	for _, n := range names {
		out = append(out, registry[n].build(d))
	}
	return out
}

// Options select which tools Register adds.
type Options struct {
	ReadOnly bool     // skip tools with Write set
	Toolsets []string // empty = all toolsets
}

// Toolsets lists the known toolset names.
func Toolsets() []string {
	set := map[string]bool{}
	for _, f := range registry {
		set[f.spec.Toolset] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// CheckOptions rejects unknown toolset names, listing the valid ones.
func CheckOptions(o Options) error {
	known := Toolsets()
	for _, ts := range o.Toolsets {
		if !slices.Contains(known, ts) {
			return fmt.Errorf("unknown toolset %q (known: %s)", ts, strings.Join(known, ", "))
		}
	}
	return nil
}

// Select returns the tools Options allow.
func Select(d Deps, o Options) []Tool {
	var out []Tool
	for _, t := range All(d) {
		if o.ReadOnly && t.Write {
			continue
		}
		if len(o.Toolsets) > 0 && t.Toolset != ToolsetCore && !slices.Contains(o.Toolsets, t.Toolset) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// Register adds the selected tools to s. Unknown toolset names select nothing; call CheckOptions first
// to report them.
func Register(s *server.MCPServer, d Deps, o Options) {
	d.ReadOnly = d.ReadOnly || o.ReadOnly
	sel := Select(d, o)
	st := make([]server.ServerTool, 0, len(sel))
	for _, t := range sel {
		st = append(st, server.ServerTool{Tool: t.Tool, Handler: t.Handler})
	}
	sort.Slice(st, func(i, j int) bool { return st[i].Tool.Name < st[j].Tool.Name })
	s.AddTools(st...)
}

// kubeClient returns the cluster client or the error telling the user how to configure one.
func (d Deps) kubeClient() (kube.Client, error) {
	if d.Kube == nil {
		return nil, kube.ErrNoCluster
	}
	return d.Kube, nil
}

func (d Deps) promClient() (prom.Client, error) {
	if d.Prom == nil {
		return nil, prom.ErrNotConfigured
	}
	return d.Prom, nil
}

var defaultRedactor = redact.Default()

func (d Deps) redactor() *redact.Redactor {
	if d.Redactor == nil {
		return defaultRedactor
	}
	return d.Redactor
}

func (d Deps) redact(s string) string { return d.redactor().String(s) }
