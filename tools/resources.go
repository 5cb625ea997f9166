package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2asrv/taskstore"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/store"
	"github.com/fixloop/fixloop/skills"
)

// Records is the part of fixloop's state MCP resources read (internal/store implements it).
type Records interface {
	ListIssues(ctx context.Context) ([]store.IssueRecord, error)
	GetIssue(ctx context.Context, fingerprint string) (*store.IssueRecord, error)
	Tasks() taskstore.Store
	ListMonitorRuns(ctx context.Context, limit int) ([]store.MonitorRun, error)
	GetMonitorRun(ctx context.Context, id string) (*store.MonitorRun, error)
	ListMonitorFindings(ctx context.Context, runID string) ([]store.MonitorFinding, error)
}

// Resource URIs.
const (
	IssuesURI        = "fixloop://issues"
	issueTemplate    = "fixloop://issues/{fingerprint}"
	verdictTemplate  = "fixloop://verdicts/{taskId}"
	FindingsURI      = "fixloop://findings"
	findingsTemplate = "fixloop://findings/{runId}"
	skillTemplate    = "fixloop://skills/{name}"
	workloadTemplate = "fixloop://workloads/{namespace}"
)

// RegisterResources serves the playbooks (fixloop://skills/<name>) and the workloads of a namespace
// (fixloop://workloads/{namespace}, from the cluster). RegisterRecords adds what needs the state store:
// the issues fixloop filed (fixloop://issues, fixloop://issues/{fingerprint}) and triage verdicts by A2A
// task id (fixloop://verdicts/{taskId}) and the health monitor's runs with their findings
// (fixloop://findings, fixloop://findings/{runId}). Everything read is redacted on the way out.
func RegisterResources(s *server.MCPServer, d Deps) {
	for _, sk := range skills.All() {
		sk := sk
		uri := "fixloop://skills/" + sk.Name
		s.AddResource(mcp.NewResource(uri, sk.Name, mcp.WithResourceDescription("Playbook: "+sk.Description), mcp.WithMIMEType("text/markdown")),
			func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
				return []mcp.ResourceContents{mcp.TextResourceContents{URI: uri, MIMEType: "text/markdown", Text: sk.Body}}, nil
			})
	}
	s.AddResourceTemplate(mcp.NewResourceTemplate(skillTemplate, "playbook", mcp.WithTemplateDescription("A playbook (skill) by name."),
		mcp.WithTemplateMIMEType("text/markdown")), readSkill)
	s.AddResourceTemplate(mcp.NewResourceTemplate(workloadTemplate, "workloads", mcp.WithTemplateDescription(
		"Rollouts, deployments, statefulsets and daemonsets in a namespace, as kind/name."), mcp.WithTemplateMIMEType("application/json")),
		func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			ns := strings.TrimPrefix(req.Params.URI, "fixloop://workloads/")
			ws, err := ListWorkloads(ctx, d, ns)
			if err != nil {
				return nil, errors.New(d.redact(err.Error()))
			}
			return jsonContents(d, req.Params.URI, map[string]any{"namespace": ns, "workloads": ws})
		})
}

func readSkill(_ context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	name := strings.TrimPrefix(req.Params.URI, "fixloop://skills/")
	sk, ok := skills.Get(name)
	if !ok {
		var names []string
		for _, s := range skills.All() {
			names = append(names, s.Name)
		}
		return nil, fmt.Errorf("no playbook %q (known: %s)", name, strings.Join(names, ", "))
	}
	return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: "text/markdown", Text: sk.Body}}, nil
}

// RegisterRecords adds the issue and verdict resources read from fixloop's state store.
func RegisterRecords(s *server.MCPServer, d Deps, rec Records) {
	s.AddResource(mcp.NewResource(IssuesURI, "issues", mcp.WithResourceDescription("GitHub issues fixloop filed, one per failure fingerprint."),
		mcp.WithMIMEType("application/json")),
		func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			is, err := rec.ListIssues(ctx)
			if err != nil {
				return nil, fmt.Errorf("read issues from the state store: %w", err)
			}
			return jsonContents(d, req.Params.URI, map[string]any{"issues": is})
		})
	s.AddResourceTemplate(mcp.NewResourceTemplate(issueTemplate, "issue", mcp.WithTemplateDescription("The issue filed for one failure fingerprint."),
		mcp.WithTemplateMIMEType("application/json")),
		func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			fp := strings.TrimPrefix(req.Params.URI, "fixloop://issues/")
			is, err := rec.GetIssue(ctx, fp)
			if errors.Is(err, store.ErrNotFound) {
				return nil, fmt.Errorf("no issue recorded for fingerprint %q (see %s)", fp, IssuesURI)
			}
			if err != nil {
				return nil, err
			}
			return jsonContents(d, req.Params.URI, is)
		})
	s.AddResourceTemplate(mcp.NewResourceTemplate(verdictTemplate, "verdict", mcp.WithTemplateDescription(
		"The result (verdict or investigation) of a triage A2A task, by task id."), mcp.WithTemplateMIMEType("application/json")),
		func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			return readVerdict(ctx, d, rec, req.Params.URI)
		})
	registerFindings(s, d, rec)
}

func registerFindings(s *server.MCPServer, d Deps, rec Records) {
	s.AddResource(mcp.NewResource(FindingsURI, "findings", mcp.WithResourceDescription("The health monitor's latest runs (newest first)."),
		mcp.WithMIMEType("application/json")),
		func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			runs, err := rec.ListMonitorRuns(ctx, 20)
			if err != nil {
				return nil, fmt.Errorf("read monitor runs from the state store: %w", err)
			}
			return jsonContents(d, req.Params.URI, map[string]any{"runs": runs})
		})
	s.AddResourceTemplate(mcp.NewResourceTemplate(findingsTemplate, "run findings", mcp.WithTemplateDescription(
		"One health-monitor run and its findings, by run id."), mcp.WithTemplateMIMEType("application/json")),
		func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			id := strings.TrimPrefix(req.Params.URI, "fixloop://findings/")
			run, err := rec.GetMonitorRun(ctx, id)
			if err != nil {
				return nil, fmt.Errorf("no monitor run %q (see %s): %w", id, FindingsURI, err)
			}
			fs, err := rec.ListMonitorFindings(ctx, id)
			if err != nil {
				return nil, err
			}
			return jsonContents(d, req.Params.URI, map[string]any{"run": run, "findings": fs})
		})
}

func readVerdict(ctx context.Context, d Deps, rec Records, uri string) ([]mcp.ResourceContents, error) {
	id := strings.TrimPrefix(uri, "fixloop://verdicts/")
	if !taskVisible(ctx, rec, id) {
		return nil, fmt.Errorf("no task %q", id)
	}
	st, err := rec.Tasks().Get(ctx, a2a.TaskID(id))
	if err != nil {
		return nil, fmt.Errorf("no task %q: %w", id, err)
	}
	for _, art := range st.Task.Artifacts {
		for _, p := range art.Parts {
			if data, ok := p.Data().(map[string]any); ok {
				return jsonContents(d, uri, data)
			}
		}
	}
	return nil, fmt.Errorf("task %s has no result yet (state %s)", id, st.Task.Status.State)
}

// taskVisible: a verdict is its A2A task's result, so like the task over A2A only its creator or an admin
// reads it; anyone else is told there is no such task (ids of others cannot be probed). In-process and
// stdio callers carry no identity and act as the process.
func taskVisible(ctx context.Context, rec Records, id string) bool {
	who := auth.FromContext(ctx)
	scoper, ok := rec.(store.TaskScoper)
	if who == nil || who.IsAdmin() || !ok {
		return true
	}
	owner, err := scoper.TaskOwner(ctx, a2a.TaskID(id))
	return err == nil && owner == who.Name
}

func jsonContents(d Deps, uri string, v any) ([]mcp.ResourceContents, error) {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return []mcp.ResourceContents{mcp.TextResourceContents{URI: uri, MIMEType: "application/json", Text: d.redact(string(raw))}}, nil
}
