package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fixloop/fixloop/internal/config"
	"github.com/fixloop/fixloop/internal/github/ghsink"
	"github.com/fixloop/fixloop/internal/opencode/opencodetest"
	"github.com/fixloop/fixloop/internal/slack/slacktesting"
	"github.com/fixloop/fixloop/internal/testenv"
)

// slackPost sends form to a fixloop route signed like Slack's and returns the status.
func slackPost(t *testing.T, base, path, secret string, form url.Values) int {
	t.Helper()
	return slackSend(t, base, path, form.Encode(), slacktesting.Sign(form.Encode(), time.Now(), secret, "application/x-www-form-urlencoded"))
}

// slackSend posts body with headers h to a fixloop route and returns the status.
func slackSend(t *testing.T, base, path, body string, h http.Header) int {
	t.Helper()
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A team's Slack, GitHub and OpenCode around fixloop on the real cluster, with fixes started from Slack
// only (--fixer none): GitHub is ghsink serving the repository over git's smart HTTP, OpenCode a real
// `opencode serve` on the scripted model, Slack the recorder.
type slackJourney struct {
	t       *testing.T
	e       *testenv.Env
	ns      string
	sink    *ghsink.Server
	rec     *slacktesting.Recorder
	oc      *opencodetest.Env
	bare    string
	workDir string
	base    string
	logs    *strings.Builder
}

const (
	journeySecret  = "cluster-slack-secret"
	journeyRepo    = "acme/shop"
	journeyChannel = "C0ALERTS"
)

func startJourney(t *testing.T) *slackJourney {
	j := &slackJourney{t: t, e: testenv.Get(t), rec: slacktesting.NewRecorder(t), workDir: t.TempDir()}
	j.oc = startOpenCode(t)
	j.bare = filepath.Join(t.TempDir(), "acme", "shop.git")
	if err := seedDemoRepo(j.bare); err != nil {
		t.Fatal(err)
	}
	var err error
	if j.sink, err = ghsink.New(ghsink.Options{GitRepos: map[string]string{journeyRepo: j.bare}}); err != nil {
		t.Fatal(err)
	}
	ghs := httptest.NewServer(j.sink)
	t.Cleanup(ghs.Close)
	j.sink.SetBaseURL(ghs.URL)
	j.base, j.logs, err = startServe(t, func(c *config.Config) {
		c.Kube.Kubeconfig, c.Prometheus.URL = j.e.Kubeconfig, j.e.PrometheusURL
		c.GitHub.BaseURL, c.GitHub.Repo = ghs.URL+"/", journeyRepo
		c.Slack = config.Slack{BotToken: "xoxb-test", SigningSecret: journeySecret, APIURL: j.rec.URL(),
			AllowedUsers: []string{"U0ALLOWED"}, NotifyChannel: journeyChannel}
		c.Fixer.OpenCodeURL, c.Fixer.Repos, c.Fixer.WorkDir = j.oc.Server.URL, []string{"acme/*"}, j.workDir
		c.Handoff.Fixer = "none" // no fix starts by itself: the team starts it from Slack
	})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// startOpenCode runs a real `opencode serve` on its own scripted model for this test.
func startOpenCode(t *testing.T) *opencodetest.Env {
	t.Helper()
	oc, err := opencodetest.Start(opencodetest.Binary(t), nil)
	if err != nil {
		t.Fatalf("start opencode serve: %v", err)
	}
	t.Cleanup(oc.Stop)
	return oc
}

func (j *slackJourney) post(path string, form url.Values) {
	j.t.Helper()
	if code := slackPost(j.t, j.base, path, journeySecret, form); code != http.StatusOK {
		j.t.Fatalf("%s: %d", path, code)
	}
}

// From Slack alone, on the real cluster: /fixloop analyze of a panicking canary answers abort with an
// Abort button; a user who is not allowed cannot confirm it (the rollout keeps running); an allowed
// user's confirmation aborts it through the real Argo controller and files one issue; the channel hears
// of the abort with the report and a Start fix button; the report opens; Start fix, confirmed by an
// allowed user (a non-allowed press starts nothing), runs the fixer on OpenCode, whose pull request
// appears in GitHub, with progress edited into the thread and the PR's link at the end; /fixloop fix
// <issue> confirmed answers with the same PR. Every write and refusal is audited with the Slack user.
func TestSlackAbortToFixOnCluster(t *testing.T) {
	j := startJourney(t)
	j.ns = j.e.NewNamespace(t, "slack")
	j.e.DeployDemoRollout(t, j.ns, testenv.DemoRollout{Name: "bad", Replicas: 5})
	j.e.UpdateDemoRollout(t, j.ns, "bad", map[string]string{"PANIC_RATE": "0.3", "ERROR_RATE": "0.2"})
	j.e.WaitRollout(t, j.ns, "bad", func(u *unstructured.Unstructured) bool {
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions")
		return len(conds) > 0
	}, 2*time.Minute)

	j.confirmAbort(j.analyzeUntilAbort())
	notice, ref := j.abortNotice()
	j.openReport(ref)
	pr := j.startFix(notice, ref)
	j.fixBySlashCommand(ref.Issue, pr)
	j.checkAudit()
	from := j.rec.Count()
	j.post("/slack/commands", slacktesting.Slash("status "+j.ns+"/bad", "U0ASKER"))
	status, _ := j.rec.WaitFor(t, from, time.Minute, func(f slacktesting.Call) bool {
		return f.Method == "chat.update" && strings.HasPrefix(f.Get("text"), "*"+j.ns+"/bad*")
	})
	if !strings.Contains(status.Get("text"), "aborted") {
		t.Errorf("status after the abort: %s", status.Get("text"))
	}
}

// analyzeUntilAbort asks until the canary has served enough to be judged (an early answer is
// inconclusive) and returns the abort answer.
func (j *slackJourney) analyzeUntilAbort() (slacktesting.Call, int) {
	t := j.t
	var answer slacktesting.Call
	next, try := 0, 0
	// Every 5 s: the canary's logs and samples accumulate between asks.
	testenv.WaitFor(t, "an abort verdict in Slack", 5*time.Second, 4*time.Minute, func() (bool, string) {
		cmd := slacktesting.Slash("analyze "+j.ns+"/bad", "U0ASKER")
		cmd.Set("trigger_id", strconv.Itoa(try)) // Slack's own is unique per request too
		try++
		j.post("/slack/commands", cmd)
		answer, next = j.rec.WaitFor(t, next, 4*time.Minute, func(f slacktesting.Call) bool {
			return f.Method == "chat.update" && !strings.HasPrefix(f.Get("text"), "⏳")
		})
		t.Logf("analyze answered: %s", answer.Get("text"))
		return strings.HasPrefix(answer.Get("text"), "*abort*"), answer.Get("text") + "\nserve log:\n" + j.logs.String()
	})
	return answer, next
}

// confirmAbort presses the verdict's Abort button, has a non-allowed user's confirmation refused, then
// an allowed user's abort the rollout and file one issue.
func (j *slackJourney) confirmAbort(verdict slacktesting.Call, next int) {
	t := j.t
	abort := slacktesting.ButtonValue(verdict.Form, "fixloop_cmd_abort")
	if abort != "abort "+j.ns+"/bad" {
		t.Fatalf("abort verdict offers no Abort button: %v", verdict)
	}
	j.post("/slack/interactions", slacktesting.PressForm("U0ASKER", "fixloop_cmd_abort", abort, verdict.TS, ""))
	confirmation, next := j.rec.WaitFor(t, next, time.Minute, func(f slacktesting.Call) bool { return slacktesting.ButtonValue(f.Form, "fixloop_confirm") != "" })
	confirm := slacktesting.ButtonValue(confirmation.Form, "fixloop_confirm")

	j.post("/slack/interactions", slacktesting.PressForm("U0ASKER", "fixloop_confirm", confirm, confirmation.TS, ""))
	refusal, _ := j.rec.WaitFor(t, next, time.Minute, func(f slacktesting.Call) bool { return f.Method == "chat.postEphemeral" })
	if refusal.Get("user") != "U0ASKER" || !strings.Contains(refusal.Get("text"), "may not confirm") {
		t.Fatalf("non-allowed press: %v", refusal)
	}
	if rolloutAborted(t, j.e, j.ns, "bad") {
		t.Fatal("a non-allowed user's press aborted the rollout")
	}

	j.post("/slack/interactions", slacktesting.PressForm("U0ALLOWED", "fixloop_confirm", confirm, confirmation.TS, ""))
	done, _ := j.rec.WaitFor(t, next, 4*time.Minute, func(f slacktesting.Call) bool {
		return f.Method == "chat.update" && strings.Contains(f.Get("text"), "<@U0ALLOWED> confirmed") && strings.Contains(f.Get("text"), "/issues/")
	})
	t.Logf("confirmed abort: %s", done.Get("text"))
	if !rolloutAborted(t, j.e, j.ns, "bad") {
		t.Fatal("the confirmed abort did not reach the rollout")
	}
	if issues := j.sink.Issues(journeyRepo); len(issues) != 1 {
		t.Fatalf("%d issues after the abort, want 1: %+v", len(issues), issues)
	}
}

func rolloutAborted(t *testing.T, e *testenv.Env, ns, name string) bool {
	t.Helper()
	u, err := e.Dynamic(t).Resource(testenv.RolloutGVR).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, _, _ := unstructured.NestedBool(u.Object, "status", "abort")
	return a
}
