package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fixloop/fixloop/internal/config"
	"github.com/fixloop/fixloop/internal/github/ghsink"
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

// From Slack alone, on the real cluster: /fixloop analyze of a panicking canary answers abort with an
// Abort button; the button asks for confirmation; a user who is not allowed cannot confirm (the
// rollout keeps running); an allowed user's confirmation aborts the rollout through the real Argo
// controller, files one issue and is audited with the Slack user.
func TestSlackAnalyzeAbortIssueOnCluster(t *testing.T) {
	e := testenv.Get(t)
	sink, err := ghsink.New(ghsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ghs := httptest.NewServer(sink)
	defer ghs.Close()
	sink.SetBaseURL(ghs.URL)
	rec := slacktesting.NewRecorder(t)
	const secret = "cluster-slack-secret"
	base, logs, err := startServe(t, func(c *config.Config) {
		c.Kube.Kubeconfig, c.Prometheus.URL = e.Kubeconfig, e.PrometheusURL
		c.GitHub.BaseURL, c.GitHub.Repo = ghs.URL+"/", "acme/slack"
		c.Slack = config.Slack{BotToken: "xoxb-test", SigningSecret: secret, APIURL: rec.URL(), AllowedUsers: []string{"U0ALLOWED"}}
	})
	if err != nil {
		t.Fatal(err)
	}
	ns := e.NewNamespace(t, "slack")
	e.DeployDemoRollout(t, ns, testenv.DemoRollout{Name: "bad", Replicas: 5})
	e.UpdateDemoRollout(t, ns, "bad", map[string]string{"PANIC_RATE": "0.3", "ERROR_RATE": "0.2"})
	e.WaitRollout(t, ns, "bad", func(u *unstructured.Unstructured) bool {
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions")
		return len(conds) > 0
	}, 2*time.Minute)

	// Ask until the canary has served enough to be judged (an early answer is inconclusive).
	var verdict *slacktesting.Call
	next := 0
	deadline := time.Now().Add(4 * time.Minute)
	for try := 0; verdict == nil; try++ {
		if time.Now().After(deadline) {
			t.Fatalf("no abort verdict in Slack; serve log:\n%s", logs.String())
		}
		if try > 0 {
			time.Sleep(5 * time.Second) // poll interval: the canary's logs and samples accumulate
		}
		cmd := url.Values{"command": {"/fixloop"}, "text": {"analyze " + ns + "/bad"}, "channel_id": {"C1"}, "user_id": {"U0ASKER"},
			"trigger_id": {strconv.Itoa(try)}} // Slack's own is unique per request too
		if code := slackPost(t, base, "/slack/commands", secret, cmd); code != http.StatusOK {
			t.Fatalf("slash command: %d", code)
		}
		answer, n := rec.WaitFor(t, next, 4*time.Minute, func(f slacktesting.Call) bool {
			return f.Method == "chat.update" && !strings.HasPrefix(f.Get("text"), "⏳")
		})
		next = n
		t.Logf("analyze answered: %s", answer.Get("text"))
		if strings.HasPrefix(answer.Get("text"), "*abort*") {
			verdict = &answer
		}
	}
	abort := slacktesting.ButtonValue(verdict.Form, "fixloop_cmd_abort")
	if abort != "abort "+ns+"/bad" {
		t.Fatalf("abort verdict offers no Abort button: %v", verdict)
	}
	slackPost(t, base, "/slack/interactions", secret, slacktesting.PressForm("U0ASKER", "fixloop_cmd_abort", abort, verdict.TS, ""))
	confirmation, next := rec.WaitFor(t, next, time.Minute, func(f slacktesting.Call) bool { return slacktesting.ButtonValue(f.Form, "fixloop_confirm") != "" })
	ts := confirmation.TS
	confirm := slacktesting.ButtonValue(confirmation.Form, "fixloop_confirm")

	slackPost(t, base, "/slack/interactions", secret, slacktesting.PressForm("U0ASKER", "fixloop_confirm", confirm, ts, ""))
	refusal, _ := rec.WaitFor(t, next, time.Minute, func(f slacktesting.Call) bool { return f.Method == "chat.postEphemeral" })
	if refusal.Get("user") != "U0ASKER" || !strings.Contains(refusal.Get("text"), "may not confirm") {
		t.Fatalf("non-allowed press: %v", refusal)
	}
	if aborted(t, e, ns) {
		t.Fatal("a non-allowed user's press aborted the rollout")
	}

	slackPost(t, base, "/slack/interactions", secret, slacktesting.PressForm("U0ALLOWED", "fixloop_confirm", confirm, ts, ""))
	done, _ := rec.WaitFor(t, next, 4*time.Minute, func(f slacktesting.Call) bool {
		return f.Method == "chat.update" && strings.Contains(f.Get("text"), "<@U0ALLOWED> confirmed") && strings.Contains(f.Get("text"), "/issues/")
	})
	t.Logf("confirmed abort: %s", done.Get("text"))
	if !aborted(t, e, ns) {
		t.Fatal("the confirmed abort did not reach the rollout")
	}
	if issues := sink.Issues("acme/slack"); len(issues) != 1 {
		t.Fatalf("%d issues after the abort, want 1: %+v", len(issues), issues)
	}
	from := rec.Count()
	slackPost(t, base, "/slack/commands", secret, url.Values{"command": {"/fixloop"}, "text": {"status " + ns + "/bad"}, "channel_id": {"C1"}, "user_id": {"U0ASKER"}})
	status, _ := rec.WaitFor(t, from, time.Minute, func(f slacktesting.Call) bool {
		return f.Method == "chat.update" && strings.HasPrefix(f.Get("text"), "*"+ns+"/bad*")
	})
	if !strings.Contains(status.Get("text"), "aborted") {
		t.Errorf("status after the abort: %s", status.Get("text"))
	}
	if l := logs.String(); !strings.Contains(l, "who=slack:U0ALLOWED") || !strings.Contains(l, "action=abort_rollout") || !strings.Contains(l, "who=slack:U0ASKER method=slack action=abort_rollout") {
		t.Errorf("the abort and the refused press are not in the audit log:\n%s", l)
	}
}

func aborted(t *testing.T, e *testenv.Env, ns string) bool {
	t.Helper()
	u, err := e.Dynamic(t).Resource(testenv.RolloutGVR).Namespace(ns).Get(context.Background(), "bad", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, _, _ := unstructured.NestedBool(u.Object, "status", "abort")
	return a
}
