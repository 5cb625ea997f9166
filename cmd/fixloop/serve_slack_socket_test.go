package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fixloop/fixloop/internal/freeport"
	"github.com/fixloop/fixloop/internal/slack/slacktesting"
	"github.com/fixloop/fixloop/internal/testenv"
	"github.com/fixloop/fixloop/test/fixloopserve"
)

// The real `fixloop serve` binary in Socket Mode only (an app-level token, no signing secret, so no
// public Slack route): it opens the connection with the app token, and over the websocket a slash
// command is acked at once and answered in a thread, a non-allowed user's confirmation press is
// refused to them alone, and an allowed user's press aborts the rollout through the real controller.
func TestServeSocketModeBinary(t *testing.T) {
	e := testenv.Get(t)
	ns := e.NewNamespace(t, "socket")
	e.DeployDemoRollout(t, ns, testenv.DemoRollout{Name: "web", Replicas: 2})
	e.UpdateDemoRollout(t, ns, "web", map[string]string{"COLOR": "green"})
	e.WaitRollout(t, ns, "web", func(u *unstructured.Unstructured) bool {
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions")
		return len(conds) > 0
	}, 3*time.Minute)

	rec := slacktesting.NewRecorder(t)
	sock := rec.SocketMode(t, "xapp-socket")
	srv := fixloopserve.StartArgs(t, []string{"--kubeconfig", e.Kubeconfig, "--prometheus-url", e.PrometheusURL,
		"--slack-api-url", rec.URL(), "--slack-allowed-users", "U0ALLOWED"},
		"FIXLOOP_SLACK_BOT_TOKEN=xoxb-socket", "FIXLOOP_SLACK_APP_TOKEN=xapp-socket")
	c := sock.Conn(t, time.Minute)

	ack := sock.Send(t, c, "env-status", "slash_commands", slashPayload("status "+ns+"/web", "U0ASKER"))
	if !strings.Contains(string(ack), "working on it") {
		t.Errorf("the slash command's ack carries no immediate answer: %s", ack)
	}
	status, next := rec.WaitFor(t, 0, time.Minute, func(c slacktesting.Call) bool {
		return c.Method == "chat.update" && strings.HasPrefix(c.Get("text"), "*"+ns+"/web*")
	})
	if !strings.Contains(status.Get("text"), "paused") {
		t.Errorf("status of the paused canary: %s", status.Get("text"))
	}

	sock.Send(t, c, "env-abort", "slash_commands", slashPayload("abort "+ns+"/web", "U0ASKER"))
	conf, next := rec.WaitFor(t, next, time.Minute, func(c slacktesting.Call) bool { return slacktesting.ButtonValue(c.Form, "fixloop_confirm") != "" })
	value := slacktesting.ButtonValue(conf.Form, "fixloop_confirm")
	press := func(id, user string) {
		t.Helper()
		sock.Send(t, c, id, "interactive", json.RawMessage(slacktesting.Press(user, "fixloop_confirm", value, conf.TS, conf.Get("thread_ts"))))
	}
	press("env-refused", "U0ASKER")
	refusal, next := rec.WaitFor(t, next, time.Minute, func(c slacktesting.Call) bool { return c.Method == "chat.postEphemeral" })
	if refusal.Get("user") != "U0ASKER" || !strings.Contains(refusal.Get("text"), "may not confirm") || rolloutAborted(t, e, ns, "web") {
		t.Fatalf("a non-allowed press over Socket Mode: %v (aborted: %v)", refusal.Form, rolloutAborted(t, e, ns, "web"))
	}
	press("env-confirm", "U0ALLOWED")
	done, _ := rec.WaitFor(t, next, 3*time.Minute, func(c slacktesting.Call) bool {
		return c.Method == "chat.update" && c.TS == conf.TS && strings.Contains(c.Get("text"), "<@U0ALLOWED> confirmed") && strings.Contains(c.Get("text"), "\n") // the answer after the abort's line
	})
	t.Logf("confirmed over Socket Mode: %s", done.Get("text"))
	if !rolloutAborted(t, e, ns, "web") {
		t.Fatalf("the confirmed abort did not reach the rollout:\n%s\nserve log:\n%s", rec.Text(), srv.Log())
	}
	if n := sock.Opens(); n != 1 {
		t.Errorf("%d Socket Mode connections opened, want 1 (a reconnect loop?)\n%s", n, srv.Log())
	}

	// Slack refreshes connections: fixloop opens a new one and answers on it.
	sock.Disconnect(t, c)
	c = sock.Conn(t, time.Minute)
	from := rec.Count()
	sock.Send(t, c, "env-after", "slash_commands", slashPayload("status "+ns+"/web", "U0ASKER"))
	status, _ = rec.WaitFor(t, from, time.Minute, func(c slacktesting.Call) bool {
		return c.Method == "chat.update" && strings.HasPrefix(c.Get("text"), "*"+ns+"/web*")
	})
	if !strings.Contains(status.Get("text"), "aborted") {
		t.Errorf("status over the new connection: %s", status.Get("text"))
	}
}

// slashPayload is a slash command as a Socket Mode envelope carries it (the HTTP form's fields as JSON).
func slashPayload(text, user string) map[string]string {
	out := map[string]string{}
	for k, v := range slacktesting.Slash(text, user) {
		out[k] = v[0]
	}
	return out
}

// An app-level token Slack refuses stops `fixloop serve` at start-up with the setting to fix (exit 2),
// instead of a server that runs on with Slack unanswered. Slack unreachable does not: slack-go retries.
func TestServeSocketModeRefusedToken(t *testing.T) {
	rec := slacktesting.NewRecorder(t)
	rec.SocketMode(t, "xapp-right")
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, fixloopserve.Bin(t), "serve", "--listen", addr, "--state-dir", t.TempDir(), "--slack-api-url", rec.URL())
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "FIXLOOP_SLACK_BOT_TOKEN=xoxb-socket", "FIXLOOP_SLACK_APP_TOKEN=xapp-wrong"}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "FIXLOOP_SLACK_APP_TOKEN") || !strings.Contains(string(out), "invalid_auth") {
		t.Fatalf("serve with a refused app token: %v (killed after a minute means it ran on)\n%s", err, out)
	}

	nobody, err := freeport.Addr() // nothing listens there: Slack is unreachable, not refusing
	if err != nil {
		t.Fatal(err)
	}
	srv := fixloopserve.StartArgs(t, []string{"--slack-api-url", "http://" + nobody + "/api/"},
		"FIXLOOP_SLACK_BOT_TOKEN=xoxb-socket", "FIXLOOP_SLACK_APP_TOKEN=xapp-right")
	if !strings.Contains(srv.Log(), "slack socket mode connection failed") {
		t.Errorf("an unreachable Slack is not logged:\n%s", srv.Log())
	}
}
