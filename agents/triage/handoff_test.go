package triage

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/github/ghsink"
	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/testenv"
)

const agentToken = "agent-token-1"

// handoffSetup is a sink where a scripted coding agent (its own account) watches for trigger, and a
// triage agent configured with fixer kind:value.
func handoffSetup(t *testing.T, kind, value string, agent *ghsink.ScriptedAgent, h HandoffConfig) (*Triage, *ghsink.Server) {
	t.Helper()
	sink, gh, api := localGitHub(t, ghsink.Options{Users: map[string]string{agentToken: "coding-agent"}})
	agent.API, agent.Token, agent.Repo = api, agentToken, "acme/shop"
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go agent.Run(ctx)
	tr, _ := newTestTriage(t)
	h.FixerFor = func(string, string) (string, string, error) { return kind, value, nil }
	tr.cfg.GitHub, tr.cfg.DefaultRepo, tr.cfg.Handoff = gh, "acme/shop", h
	return tr, sink
}

func abortVerdict(t *testing.T) *judge.Verdict {
	t.Helper()
	dir := "../../testdata/canary/5xx-increase"
	in, err := judge.LoadFiles(judge.Files{Stable: dir + "/stable.log", Canary: dir + "/canary.log"})
	if err != nil {
		t.Fatal(err)
	}
	in.Namespace, in.Rollout = "shop", "web"
	v, err := judge.Judge(context.Background(), in, judge.Options{})
	if err != nil || v.Verdict != judge.Abort {
		t.Fatalf("judge: %+v %v", v, err)
	}
	return v
}

func analyse(tr *Triage, v *judge.Verdict, op string) *AnalyzeResult {
	res := &AnalyzeResult{JudgeVerdict: *v, Namespace: "shop", Rollout: "web"}
	tr.act(context.Background(), AnalyzeInput{Namespace: "shop", Rollout: "web"}, analysisInputs{RepoURL: "acme/shop"}, op, res, nop)
	return res
}

// A coding agent summoned by a label, an assignee or a mention comments and opens a PR that closes
// the issue; fixloop reports that PR as prLink, and a repeat of the failure does not hand off again.
func TestHandoffToCodingAgentFollowedToPR(t *testing.T) {
	cases := []struct {
		kind, value string
		agent       *ghsink.ScriptedAgent
	}{
		{"label", "jules", &ghsink.ScriptedAgent{Label: "jules"}},
		{"assignee", "copilot-swe", &ghsink.ScriptedAgent{Assignee: "copilot-swe"}},
		{"mention", "@claude please fix this", &ghsink.ScriptedAgent{Mention: "@claude"}},
	}
	v := abortVerdict(t)
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			tr, sink := handoffSetup(t, c.kind, c.value, c.agent, HandoffConfig{Wait: 20 * time.Second, PollInterval: 50 * time.Millisecond})
			res := analyse(tr, v, "op-1")
			if res.Issue == nil || res.Handoff == nil {
				t.Fatalf("no issue or hand-off: %+v (notes %v, issue error %q, fixer error %q)", res.Handoff, res.Notes, res.IssueError, res.FixerError)
			}
			pulls := sink.Pulls("acme/shop")
			if len(pulls) != 1 || res.PRLink != pulls[0].HTMLURL {
				t.Fatalf("prLink %q, agent's pulls %+v", res.PRLink, pulls)
			}
			if res.Handoff.State != github.HandoffPROpen || res.Handoff.AgentComments != 1 || res.Handoff.PRBase != "main" {
				t.Fatalf("hand-off status %+v, want pr_open with the agent's comment and base main", res.Handoff)
			}
			again := analyse(tr, v, "op-2")
			if again.Handoff == nil || !again.Handoff.Repeat || again.PRLink != res.PRLink {
				t.Fatalf("repeat: %+v prLink %q", again.Handoff, again.PRLink)
			}
			assertHandedOffOnce(t, sink, res.Issue.Number, c.kind, c.value)
			if sink.NotModified() == 0 {
				t.Errorf("the repeat's look at an unchanged issue sent no conditional request answered 304")
			}
		})
	}
}

// assertHandedOffOnce checks the issue carries the trigger once, and that fixloop sent it once.
func assertHandedOffOnce(t *testing.T, sink *ghsink.Server, number int, kind, value string) {
	t.Helper()
	var sent int
	for _, r := range sink.Requests() {
		switch {
		case kind == "label" && r.Method == "POST" && strings.HasSuffix(r.Path, fmt.Sprintf("/issues/%d/labels", number)),
			kind == "assignee" && r.Method == "POST" && strings.HasSuffix(r.Path, fmt.Sprintf("/issues/%d/assignees", number)),
			kind == "mention" && r.Method == "POST" && strings.HasSuffix(r.Path, fmt.Sprintf("/issues/%d/comments", number)) && strings.Contains(r.Body, value):
			sent++
		}
	}
	if sent != 1 {
		t.Fatalf("hand-off %s:%s sent %d times over two occurrences, want once", kind, value, sent)
	}
	var is ghsink.Issue
	for _, i := range sink.Issues(sinkRepo(sink)) {
		if i.Number == number {
			is = i
		}
	}
	switch kind {
	case "label":
		var n int
		for _, l := range is.Labels {
			if l.Name == value {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("issue labels %+v: %q %d times", is.Labels, value, n)
		}
	case "assignee":
		if len(is.Assignees) != 1 || is.Assignees[0].Login != value {
			t.Fatalf("issue assignees %+v, want %s", is.Assignees, value)
		}
	}
}

// A coding agent that comments but never opens a pull request is flagged once the timeout passes;
// nothing claims a PR.
func TestHandoffWithoutPRIsFlagged(t *testing.T) {
	tr, _ := handoffSetup(t, "label", "jules", &ghsink.ScriptedAgent{Label: "jules", NoPR: true},
		HandoffConfig{Wait: 3 * time.Second, PollInterval: 50 * time.Millisecond, PRTimeout: time.Second})
	res := analyse(tr, abortVerdict(t), "op-1")
	if res.Handoff == nil || !res.Handoff.Flagged || res.PRLink != "" || res.Handoff.PRURL != "" {
		t.Fatalf("hand-off without PR: %+v prLink %q, want flagged and no PR", res.Handoff, res.PRLink)
	}
	if res.Handoff.State != github.HandoffAgentWorking {
		t.Fatalf("state %q, want agent_working (the agent commented)", res.Handoff.State)
	}
	if !strings.Contains(res.Summary(), "flagged") {
		t.Errorf("summary does not say the hand-off is flagged: %s", res.Summary())
	}
}

// sinkRepo is the one repository the sink holds.
func sinkRepo(sink *ghsink.Server) string {
	if names := sink.RepoNames(); len(names) == 1 {
		return names[0]
	}
	return "acme/shop"
}

// A webhook delivery is accepted only with the right X-Hub-Signature-256; a signed one makes fixloop
// look again through the API (the payload itself is never believed), and the PR shows in the record.
func TestWebhookSignatureAndNudge(t *testing.T) {
	agent := &ghsink.ScriptedAgent{Label: "jules", Interval: time.Hour} // acts once at start, then only when told
	tr, sink := handoffSetup(t, "label", "jules", agent, HandoffConfig{PollInterval: 50 * time.Millisecond})
	res := analyse(tr, abortVerdict(t), "op-1")
	if res.Handoff == nil {
		t.Fatalf("no hand-off: %v", res.Notes)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	late := &ghsink.ScriptedAgent{API: agent.API, Token: agent.Token, Repo: agent.Repo, Label: "jules"} // the agent gets to it now
	go late.Run(ctx)
	testenv.WaitFor(t, "the late agent's pull request", 20*time.Millisecond, 30*time.Second, func() (bool, string) {
		return len(sink.Pulls("acme/shop")) > 0, ""
	})
	mux := http.NewServeMux()
	tr.RegisterWebhook(mux, "s3cret")
	srv := httptest.NewServer(mux)
	defer srv.Close()
	body := []byte(`{"action":"opened","repository":{"full_name":"acme/shop"}}`)
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write(body)
	good := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	for _, c := range []struct {
		sig  string
		want int
	}{{"", 401}, {"sha256=00", 401}, {"sha256=" + strings.Repeat("0", 64), 401}, {good, 202}} {
		sig, want := c.sig, c.want
		if want == 202 {
			if rec, _, _ := tr.loadHandoff(ctx, res.Fingerprint); rec.Obs.PR != nil {
				t.Fatal("the PR was recorded before any signed delivery")
			}
		}
		req, _ := http.NewRequest("POST", srv.URL+WebhookPath, bytes.NewReader(body))
		if sig != "" {
			req.Header.Set("X-Hub-Signature-256", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != want {
			t.Fatalf("signature %q: %v %v, want %d", sig, resp, err, want)
		}
		resp.Body.Close()
	}
	testenv.WaitFor(t, "the signed delivery to lead to the PR being seen", 50*time.Millisecond, 10*time.Second, func() (bool, string) {
		rec, found, _ := tr.loadHandoff(context.Background(), res.Fingerprint)
		return found && rec.Obs.PR != nil && rec.Obs.PR.URL == sink.Pulls("acme/shop")[0].HTMLURL, fmt.Sprintf("record %+v", rec)
	})
}

// A replica that posted the mention and died before recording it leaves a begun hand-off; the replica
// taking it over applies it again, which for a mention must not summon the agent a second time.
func TestMentionHandoffTakenOverPostsOnce(t *testing.T) {
	v := abortVerdict(t)
	tr, sink := handoffSetup(t, "mention", "@claude please fix this", &ghsink.ScriptedAgent{Mention: "@claude"}, HandoffConfig{})
	first := analyse(tr, v, "op-1")
	if first.Issue == nil || first.Handoff == nil {
		t.Fatalf("no hand-off: %+v %v %q", first.Handoff, first.Notes, first.FixerError)
	}
	rec, found, err := tr.loadHandoff(context.Background(), first.Fingerprint)
	if err != nil || !found {
		t.Fatalf("hand-off record: %v %v", found, err)
	}
	rec.HandedOffAt, rec.Obs = time.Time{}, github.Observation{} // as the dead replica left it: begun
	tr.saveHandoff(context.Background(), rec)
	again := analyse(tr, v, "op-2")
	if again.Handoff == nil || again.FixerError != "" {
		t.Fatalf("takeover: %+v %q", again.Handoff, again.FixerError)
	}
	assertHandedOffOnce(t, sink, first.Issue.Number, "mention", "@claude please fix this")
}
