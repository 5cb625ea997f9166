package tools

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/github/ghsink"
	"github.com/fixloop/fixloop/internal/github/ghsink/ghsinktest"
	"github.com/fixloop/fixloop/internal/redact"
	"github.com/fixloop/fixloop/internal/report"
	"github.com/fixloop/fixloop/internal/slack"
	"github.com/fixloop/fixloop/internal/slack/slacktesting"
	"github.com/fixloop/fixloop/internal/store"
)

func TestOpenIssueThroughTheMCPHandler(t *testing.T) {
	sink, ts := ghsinktest.Start(t, ghsink.Options{})
	gh, err := github.New(github.Config{BaseURL: ts.URL + "/", Redactor: redact.Default()})
	if err != nil {
		t.Fatal(err)
	}
	var tool Tool
	for _, tl := range All(Deps{GitHub: gh}) {
		if tl.Tool.Name == "open_issue" {
			tool = tl
		}
	}
	if !tool.Write || tool.Toolset != ToolsetIssues {
		t.Fatalf("open_issue registration: %+v", tool)
	}
	call := func(args map[string]any) *mcp.CallToolResult {
		req := mcp.CallToolRequest{}
		req.Params.Name = "open_issue"
		req.Params.Arguments = args
		res, err := tool.Handler(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	args := map[string]any{"repo": "acme/shop", "fingerprint": "f00d", "title": "panic in checkout", "occurrenceId": "a",
		"logExamples": []any{"panic: boom password=hunter2hunter2"}}
	res := call(args)
	if res.IsError {
		t.Fatalf("open_issue failed: %+v", res.Content)
	}
	raw, _ := json.Marshal(res.StructuredContent)
	var out OpenIssueOutput
	json.Unmarshal(raw, &out)
	if !out.Created || out.Number != 1 {
		t.Fatalf("first call = %s", raw)
	}
	args["occurrenceId"] = "b"
	res = call(args)
	raw, _ = json.Marshal(res.StructuredContent)
	json.Unmarshal(raw, &out)
	if res.IsError || !out.Commented || out.Created || len(sink.Issues("acme/shop")) != 1 {
		t.Fatalf("second call = %s", raw)
	}
	if strings.Contains(sink.Issues("acme/shop")[0].Body, "hunter2hunter2") {
		t.Fatal("secret reached the issue")
	}
	if res := call(map[string]any{"fingerprint": "x", "title": "t"}); !res.IsError {
		t.Fatal("missing repo accepted")
	}
}

// The default repository and the client come from Deps (the configuration), never the environment.
func TestOpenIssueUsesConfiguredRepo(t *testing.T) {
	sink, ts := ghsinktest.Start(t, ghsink.Options{})
	gh, err := github.New(github.Config{BaseURL: ts.URL + "/", Redactor: redact.Default()})
	if err != nil {
		t.Fatal(err)
	}
	in := OpenIssueInput{Fingerprint: "beef", Title: "crash"}
	if _, err := OpenIssue(context.Background(), Deps{GitHub: gh, GitHubRepo: "acme/configured"}, in); err != nil {
		t.Fatal(err)
	}
	if n := len(sink.Issues("acme/configured")); n != 1 {
		t.Fatalf("issues in the configured repo = %d, want 1", n)
	}
	if _, err := OpenIssue(context.Background(), Deps{GitHubRepo: "acme/configured"}, in); err == nil || !strings.Contains(err.Error(), "FIXLOOP_GITHUB_TOKEN") {
		t.Fatalf("without a client: err = %v, want the setting named", err)
	}
}

// open_issue with compare_canary's report links both ways and posts the new issue to Slack; a report
// URL that is not this server's is refused before anything reaches GitHub.
func TestOpenIssueLinksTheReportAndNotifies(t *testing.T) {
	ctx := context.Background()
	sink, ts := ghsinktest.Start(t, ghsink.Options{})
	gh, err := github.New(github.Config{BaseURL: ts.URL + "/", Redactor: redact.Default()})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sl := slacktesting.NewRecorder(t)
	d := Deps{GitHub: gh, Reports: &report.Recorder{KV: st, BaseURL: "https://fixloop.example"},
		Notifier: &slack.Notifier{Client: sl.Client(), Channel: "C1"}}
	r := report.Report{Namespace: "shop", Rollout: "web"}
	reportURL, err := d.Reports.Save(ctx, &r)
	if err != nil {
		t.Fatal(err)
	}
	in := OpenIssueInput{Repo: "acme/shop", Fingerprint: "f00d", Title: "panic", Namespace: "shop", Rollout: "web", Report: reportURL}
	for _, bad := range []string{"https://evil.example/reports/" + r.ID, "javascript:alert(1)", reportURL + "/../x"} {
		bin := in
		bin.Report = bad
		if _, err := OpenIssue(ctx, d, bin); err == nil {
			t.Errorf("report %q accepted", bad)
		}
	}
	if len(sink.Issues("acme/shop")) != 0 {
		t.Fatal("a refused call reached GitHub")
	}
	out, err := OpenIssue(ctx, d, in)
	if err != nil {
		t.Fatal(err)
	}
	if body := sink.Issues("acme/shop")[0].Body; !strings.Contains(body, reportURL) {
		t.Errorf("issue body lacks the report:\n%s", body)
	}
	if saved, err := report.Load(ctx, st, r.ID); err != nil || saved.Links.Issue != out.URL {
		t.Errorf("report not linked to the issue: %+v %v", saved, err)
	}
	if posted := sl.Of("chat.postMessage"); len(posted) != 1 || !strings.Contains(posted[0].Get("blocks"), out.URL) || !strings.Contains(posted[0].Get("text"), "Issue opened for `shop/web`") {
		t.Errorf("issue notice: %v", posted)
	}
}
