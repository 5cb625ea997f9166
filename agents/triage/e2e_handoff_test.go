package triage_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"

	"github.com/fixloop/fixloop/internal/github/ghsink"
	"github.com/fixloop/fixloop/internal/github/ghsink/ghsinktest"
)

// With `--fixer label:jules`, an aborted canary on the real cluster gets its issue labelled jules once;
// the scripted coding agent's PR comes back as prLink on the AI plugin route and in the A2A task's
// artifact, and a second analysis does not label again. The hand-off's state (pr_open with the PR) shows
// on the report page, in list_findings and in the Slack notice.
func TestHandoffLabelJulesOnRealCluster(t *testing.T) {
	e := clusterTest(t)
	sink, ts := ghsinktest.Start(t, ghsink.Options{Users: map[string]string{julesToken: "google-labs-jules"}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	agent := &ghsink.ScriptedAgent{API: ts.URL + "/", Token: julesToken, Repo: "acme/handoff", Label: "jules", Interval: 200 * time.Millisecond}
	go agent.Run(ctx)
	slackAPI, posts := slackRecorder(t)
	srv := startServe(t, e, ts.URL+"/", "acme/handoff", append([]string{"--fixer", "label:jules", "--handoff-wait", "60s", "--handoff-poll-interval", "500ms"},
		slackNotifyArgs(t, slackAPI, "C-alerts")...)...)
	ns := e.NewNamespace(t, "handoff")
	deployCanary(t, e, ns, "bad", map[string]string{"PANIC_RATE": "0.3", "ERROR_RATE": "0.2"})
	soak(t, e, ns, 8)

	out, _ := pluginAnalyzeWith(t, srv, ns, "bad", "acme/handoff", "")
	pulls := sink.Pulls("acme/handoff")
	if out["promote"] != false || len(pulls) != 1 || out["prLink"] != pulls[0].HTMLURL {
		t.Fatalf("plugin answer %v; agent's pulls %+v\nserve log:\n%s", out, pulls, tail(srv.log(), 40))
	}

	c := a2aClient(t, srv.URL)
	actx, acancel := context.WithTimeout(ctx, 4*time.Minute)
	defer acancel()
	res, err := c.SendMessage(actx, &a2a.SendMessageRequest{Message: a2a.NewMessage(a2a.MessageRoleUser,
		a2a.NewDataPart(map[string]any{"skill": "analyze_canary", "namespace": ns, "rollout": "bad"}))})
	if err != nil {
		t.Fatal(err)
	}
	task, ok := res.(*a2a.Task)
	if !ok || task.Status.State != a2a.TaskStateCompleted || len(task.Artifacts) == 0 {
		t.Fatalf("A2A analysis: %#v", res)
	}
	v := task.Artifacts[len(task.Artifacts)-1].Parts[0].Data().(map[string]any)
	h, _ := v["handoff"].(map[string]any)
	if v["prLink"] != pulls[0].HTMLURL || h == nil || h["state"] != "pr_open" || h["repeat"] != true {
		t.Fatalf("A2A artifact prLink %v handoff %v, want %s pr_open repeat", v["prLink"], h, pulls[0].HTMLURL)
	}
	issues := sink.Issues("acme/handoff")
	if len(issues) != 1 {
		t.Fatalf("%d issues, want 1", len(issues))
	}
	var labelled, labels int
	for _, r := range sink.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/labels") {
			labelled++
		}
	}
	for _, l := range issues[0].Labels {
		if l.Name == "jules" {
			labels++
		}
	}
	if labelled != 1 || labels != 1 {
		t.Fatalf("label requests %d, jules labels on the issue %d: want 1 and 1 after two analyses", labelled, labels)
	}
	checkHandoffShown(t, srv, v, pulls[0].HTMLURL, posts)
}

const julesToken = "jules-token"
