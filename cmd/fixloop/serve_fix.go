package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2asrv"

	"github.com/fixloop/fixloop/agents"
	fxslack "github.com/fixloop/fixloop/internal/slack"
	"github.com/fixloop/fixloop/internal/store"
	"github.com/fixloop/fixloop/tools"
)

// fixFiledIssue hands an issue fixloop filed to the fixer agent mounted in this process and streams its
// status updates to progress. Only fixloop's own issues: the fingerprint and repository come from its
// record, never from the issue's (editable) text. Slack's fix command and MCP's fix_issue use it.
func fixFiledIssue(ctx context.Context, st store.Store, host *agents.Host, url string, progress func(string)) (*fxslack.Turn, error) {
	if st == nil {
		return nil, errors.New("no state store: fixloop cannot know its issues")
	}
	recs, err := st.ListIssues(ctx)
	if err != nil {
		return nil, err
	}
	var rec *store.IssueRecord
	for i := range recs {
		if recs[i].URL == url {
			rec = &recs[i]
		}
	}
	if rec == nil {
		return nil, fmt.Errorf("%s is not an issue fixloop filed: only those can be fixed", url)
	}
	var h a2asrv.RequestHandler
	if host != nil {
		h, _ = host.Handler("fixer")
	}
	if h == nil {
		return nil, errors.New("no fixer agent runs in this fixloop (configure --opencode-url)")
	}
	req := map[string]any{"repo": rec.Repo, "issue": rec.Number, "issueUrl": rec.URL, "fingerprint": rec.Fingerprint,
		"findings": map[string]any{"title": fmt.Sprintf("the failure of issue #%d", rec.Number),
			"summary": fmt.Sprintf("fixloop filed %s for failure %s; read it for the evidence.", rec.URL, rec.Fingerprint)}}
	msg := a2a.NewMessage(a2a.MessageRoleUser, a2a.NewDataPart(req))
	msg.ContextID = "fixloop-" + rec.Fingerprint
	return askAgent(ctx, h, msg, progress)
}

// hostFixer is MCP's tools.Fixer: the tools are registered before the agents are mounted, so the host
// and store are bound later (bind, from mountAgents). Unbound (fixloop mcp over stdio) it says so.
type hostFixer struct {
	mu    sync.Mutex
	host  *agents.Host
	store store.Store
}

func (f *hostFixer) bind(host *agents.Host, st store.Store) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.host, f.store = host, st
}

func (f *hostFixer) FixIssue(ctx context.Context, url string, progress func(string)) (*tools.FixIssueOutput, error) {
	f.mu.Lock()
	host, st := f.host, f.store
	f.mu.Unlock()
	if host == nil {
		return nil, errors.New("fix_issue needs the fixer agent of `fixloop serve` (--opencode-url, GitHub configured)")
	}
	turn, err := fixFiledIssue(ctx, st, host, url, progress)
	if err != nil {
		return nil, err
	}
	return &tools.FixIssueOutput{TaskID: turn.TaskID, Summary: turn.Text}, nil
}
