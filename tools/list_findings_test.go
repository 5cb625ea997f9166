package tools

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fixloop/fixloop/internal/monitor"
	"github.com/fixloop/fixloop/internal/report"
	"github.com/fixloop/fixloop/internal/store"
)

func TestListFindingsShowsRunsStepsFindingsActions(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC()
	run := store.MonitorRun{ID: "run-1", Status: store.MonitorDone, Window: "30m", StartedAt: now, UpdatedAt: now}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.PutMonitorRun(ctx, run))
	must(st.PutMonitorStep(ctx, store.MonitorStep{RunID: "run-1", Name: "metrics", Status: store.MonitorDone, Attempts: 2, StartedAt: now, FinishedAt: now,
		Result: json.RawMessage(`{"big":"document"}`)}))
	must(st.PutMonitorFindings(ctx, "run-1", []store.MonitorFinding{
		{RunID: "run-1", Namespace: "shop", Workload: "rollout/web", Check: "error_rate_5xx", Severity: "critical", Streak: 2, Decision: "act",
			Evidence: "password=hunter2hunter2 in a log line"},
		{RunID: "run-1", Namespace: "shop", Workload: "rollout/web", Check: "cpu_pct_of_limit", Severity: "ok"},
	}))
	must(st.PutMonitorAction(ctx, store.MonitorAction{Key: "issue/run-1/fp", RunID: "run-1", Kind: "issue", Status: store.MonitorDone, Ref: "https://example/1"}))

	status := monitor.NewStatus("", "")
	status.SetStore(st)
	out, err := ListFindings(ctx, Deps{Monitor: status}, ListFindingsInput{OnlyBad: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Runs) != 1 {
		t.Fatalf("runs = %+v", out.Runs)
	}
	r := out.Runs[0]
	if len(r.Steps) != 1 || r.Steps[0].Attempts != 2 || r.Steps[0].FinishedAt == "" || len(r.Findings) != 1 || len(r.Actions) != 1 {
		t.Fatalf("run view = %+v", r)
	}
	if strings.Contains(r.Findings[0].Evidence, "hunter2") {
		t.Errorf("evidence not redacted: %s", r.Findings[0].Evidence)
	}
	if _, err := ListFindings(ctx, Deps{}, ListFindingsInput{}); err == nil {
		t.Error("no monitor status: want an error naming what to start")
	}
	if _, err := ListFindings(ctx, Deps{Monitor: status}, ListFindingsInput{RunID: "nope"}); err == nil {
		t.Error("unknown run: want an error")
	}
}

func TestServerInfoShowsTheLeaseHolder(t *testing.T) {
	st := monitor.NewStatus("", "")
	out, _ := ServerInfo(context.Background(), Deps{Monitor: st}, ServerInfoInput{})
	if out.Monitor != nil {
		t.Fatalf("monitor not enabled but reported: %+v", out.Monitor)
	}
	st.SetEnabled("replica-a", "fixloop/fixloop-monitor")
	out, _ = ServerInfo(context.Background(), Deps{Monitor: st}, ServerInfoInput{})
	if out.Monitor == nil || out.Monitor.Identity != "replica-a" || out.Monitor.Lease != "fixloop/fixloop-monitor" {
		t.Fatalf("server_info monitor = %+v", out.Monitor)
	}
}

// list_findings shows where each filed failure's fix stands, newest first, including a coding agent's
// hand-off and a flag for one with no pull request in time.
func TestListFindingsShowsFixStates(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC()
	for i, fp := range []string{"fp-old", "fp-new", "fp-nofix"} {
		if err := st.PutIssue(ctx, store.IssueRecord{Fingerprint: fp, Repo: "acme/shop", Number: i + 1, URL: "https://github.com/acme/shop/issues/" + fp,
			State: "open", FirstSeen: now, LastSeen: now.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	_ = report.SaveFix(ctx, st, report.Fix{Fingerprint: "fp-old", Fixer: "label:jules", State: "handed_off", Flagged: true})
	_ = report.SaveFix(ctx, st, report.Fix{Fingerprint: "fp-new", Fixer: "opencode", State: "pr_open", PR: "https://github.com/acme/shop/pull/9"})
	status := monitor.NewStatus("", "")
	status.SetStore(st)
	out, err := ListFindings(ctx, Deps{Monitor: status}, ListFindingsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Fixes) != 2 || out.Fixes[0].Fingerprint != "fp-new" || out.Fixes[0].StateText != "pull request open" || out.Fixes[0].PR == "" {
		t.Fatalf("fixes = %+v", out.Fixes)
	}
	if f := out.Fixes[1]; f.Fixer != "label:jules" || !f.Flagged || f.Issue != "https://github.com/acme/shop/issues/fp-old" {
		t.Errorf("hand-off = %+v", f)
	}
}
