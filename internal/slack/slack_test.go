package slack

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/slack/slacktesting"
)

func TestRefusesForgedStaleAndReplayedRequests(t *testing.T) {
	var ran atomic.Int32
	api := newSlackAPI(t)
	b := &Bridge{SigningSecret: secret, Client: api.Client(), Commands: map[string]Command{
		"analyze": func(context.Context, []string, func(string)) (*Reply, error) {
			ran.Add(1)
			return &Reply{Text: "ok"}, nil
		}}}
	srv := serve(t, b)
	body := slash("analyze shop/web", "U1")
	for _, path := range []string{"/slack/commands", "/slack/events", "/slack/interactions"} {
		if code, _ := send(t, srv, path, body, slacktesting.Sign(body, time.Now(), "not-the-secret", formType)); code != http.StatusUnauthorized {
			t.Errorf("%s bad signature: %d", path, code)
		}
		if code, _ := send(t, srv, path, body, slacktesting.Sign(body, time.Now().Add(-6*time.Minute), secret, formType)); code != http.StatusUnauthorized {
			t.Errorf("%s stale timestamp: %d", path, code)
		}
		if code, _ := send(t, srv, path, body, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}); code != http.StatusUnauthorized {
			t.Errorf("%s unsigned: %d", path, code)
		}
	}
	h := slacktesting.Sign(body, time.Now(), secret, formType)
	if code, _ := send(t, srv, "/slack/commands", slash("abort shop/web", "U1"), h); code != http.StatusUnauthorized {
		t.Errorf("body changed under a valid signature: %d", code)
	}
	if code, _ := send(t, srv, "/slack/commands", body, h); code != http.StatusOK {
		t.Fatalf("valid request: %d", code)
	}
	if code, _ := send(t, srv, "/slack/commands", body, h); code != http.StatusUnauthorized {
		t.Errorf("replayed request: %d", code)
	}
	b.Wait()
	if ran.Load() != 1 {
		t.Errorf("command ran %d times, want once", ran.Load())
	}
}

func TestAnalyzeAnswersRedactedInThreadWithProgress(t *testing.T) {
	leak := "ghp_0123456789abcdefghijABCDEFGHIJ012345"
	api := newSlackAPI(t)
	b := &Bridge{SigningSecret: secret, Client: api.Client(), Commands: map[string]Command{
		"analyze": func(_ context.Context, args []string, progress func(string)) (*Reply, error) {
			progress("collecting logs with token=" + leak)
			return &Reply{Text: "verdict abort for " + args[0] + ": panic with token=" + leak,
				Actions: []Action{{Label: "Abort rollout", Command: "abort " + args[0]}}}, nil
		}}}
	srv := serve(t, b)
	if code := signedSend(t, srv, "/slack/commands", slash("analyze shop/web", "U1")); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	b.Wait()
	posts, updates := api.Of("chat.postMessage"), api.Of("chat.update")
	if len(posts) != 2 || len(updates) < 1 {
		t.Fatalf("want the request, a working message and its edits: %s", api.Text())
	}
	root, working := posts[0], posts[1]
	if !strings.Contains(root.Get("text"), "<@U1> asked: /fixloop analyze shop/web") || working.Get("thread_ts") != "1700000000.100001" {
		t.Errorf("request not posted with the answer in its thread: %s", api.Text())
	}
	answer := updates[len(updates)-1]
	if answer.Get("ts") != "1700000000.100002" || !strings.Contains(answer.Get("text"), "verdict abort for shop/web") {
		t.Errorf("answer not edited into the working message: %v", answer)
	}
	if strings.Contains(api.Text(), leak) {
		t.Errorf("a token reached Slack: %s", api.Text())
	}
	if v := button(t, answer, "fixloop_cmd_abort"); v != "abort shop/web" {
		t.Errorf("abort button runs %q", v)
	}
}

// A write asks for confirmation; a user neither listed nor in an allowed group is refused (audited,
// told alone, nothing run); a group member's press runs it once; a second press does nothing.
func TestWriteRunsOnlyAfterAllowedConfirmation(t *testing.T) {
	api := newSlackAPI(t)
	api.SetGroup("S0OPS", "U2")
	var runs atomic.Int32
	store := &memAudit{}
	b := &Bridge{SigningSecret: secret, Client: api.Client(), AllowedUsers: []string{"U9"}, AllowedGroups: []string{"S0OPS"},
		Audit: &auth.Audit{Store: store},
		Writes: map[string]Write{"abort": {Action: "abort_rollout",
			Check: func(args []string) (string, error) {
				if len(args) != 1 {
					return "", errors.New("usage: abort <namespace>/<rollout>")
				}
				return "abort rollout " + args[0], nil
			},
			Run: func(ctx context.Context, args []string, _ func(string)) (*Reply, error) {
				if id := auth.FromContext(ctx); id == nil || id.Name != "slack:U2" {
					t.Errorf("write ran as %+v, want the confirming Slack user", id)
				}
				runs.Add(1)
				return &Reply{Text: "aborted " + args[0]}, nil
			}}}}
	srv := serve(t, b)
	signedSend(t, srv, "/slack/commands", slash("abort shop/web", "U1"))
	b.Wait()
	posts := api.Of("chat.postMessage")
	if len(posts) != 2 || runs.Load() != 0 {
		t.Fatalf("want the request and a confirmation, nothing run: %s", api.Text())
	}
	confirmation := posts[1]
	val := button(t, confirmation, ActionConfirm)
	if !strings.Contains(confirmation.Get("text"), "abort rollout shop/web") {
		t.Errorf("confirmation does not say what it does: %v", confirmation)
	}
	ts := "1700000000.100002"
	signedSend(t, srv, "/slack/interactions", press("U1", ActionConfirm, val, ts)) // the asker, not allowed
	b.Wait()
	if runs.Load() != 0 {
		t.Fatal("a non-allowed user's press ran the write")
	}
	if eph := api.Of("chat.postEphemeral"); len(eph) != 1 || eph[0].Get("user") != "U1" || !strings.Contains(eph[0].Get("text"), "may not confirm") {
		t.Errorf("refusal not told to the presser alone: %s", api.Text())
	}
	signedSend(t, srv, "/slack/interactions", press("U2", ActionConfirm, val, ts))
	b.Wait()
	signedSend(t, srv, "/slack/interactions", press("U9", ActionConfirm, val, ts))
	b.Wait()
	if runs.Load() != 1 {
		t.Fatalf("write ran %d times, want once", runs.Load())
	}
	updates := api.Of("chat.update")
	if last := updates[len(updates)-1]; last.Get("ts") != ts || !strings.Contains(last.Get("text"), "<@U2> confirmed *abort rollout shop/web*: aborted shop/web") || last.Get("blocks") != "" {
		t.Errorf("confirmation not replaced by the result: %v", last)
	}
	ev := store.all()
	if len(ev) != 2 || ev[0].Result != "refused" || ev[0].Who != "slack:U1" || ev[1].Result != "ok" || ev[1].Who != "slack:U2" ||
		ev[1].Action != "abort_rollout" || ev[1].Target != "shop/web" || ev[1].Method != "slack" {
		t.Errorf("audit log: %+v", ev)
	}
}

func TestWriteUsageErrorAndCancel(t *testing.T) {
	api := newSlackAPI(t)
	var runs atomic.Int32
	b := &Bridge{SigningSecret: secret, Client: api.Client(), AllowedUsers: []string{"U9"},
		Writes: map[string]Write{"promote": {Action: "promote_rollout",
			Check: func(args []string) (string, error) {
				if len(args) != 1 || !strings.Contains(args[0], "/") {
					return "", errors.New("usage: promote <namespace>/<rollout>")
				}
				return "promote " + args[0], nil
			},
			Run: func(context.Context, []string, func(string)) (*Reply, error) {
				runs.Add(1)
				return &Reply{Text: "done"}, nil
			}}}}
	srv := serve(t, b)
	signedSend(t, srv, "/slack/commands", slash("promote web", "U1"))
	b.Wait()
	if !strings.Contains(api.Text(), "usage: promote <namespace>/<rollout>") || strings.Contains(api.Text(), ActionConfirm) {
		t.Fatalf("bad arguments must get the usage and no confirmation: %s", api.Text())
	}
	signedSend(t, srv, "/slack/commands", slash("promote shop/web", "U1"))
	b.Wait()
	posts := api.Of("chat.postMessage")
	conf := posts[len(posts)-1]
	val := button(t, conf, ActionCancel)
	signedSend(t, srv, "/slack/interactions", press("U3", ActionCancel, val, "1700000000.100004")) // neither asker nor allowed
	signedSend(t, srv, "/slack/interactions", press("U1", ActionCancel, val, "1700000000.100004"))
	b.Wait()
	signedSend(t, srv, "/slack/interactions", press("U9", ActionConfirm, button(t, conf, ActionConfirm), "1700000000.100004"))
	b.Wait()
	if runs.Load() != 0 {
		t.Errorf("a cancelled write ran")
	}
	if !strings.Contains(api.Text(), "<@U1> cancelled: promote shop/web") {
		t.Errorf("cancel not shown: %s", api.Text())
	}
}

// A button under an answer or a notification (fixloop_cmd_*) runs its command line: a write then asks
// for confirmation in the message's thread.
func TestCommandButtonAsksForConfirmation(t *testing.T) {
	api := newSlackAPI(t)
	b := &Bridge{SigningSecret: secret, Client: api.Client(), Writes: map[string]Write{"promote": {Action: "promote_rollout",
		Check: func(args []string) (string, error) { return "promote " + args[0], nil },
		Run: func(context.Context, []string, func(string)) (*Reply, error) {
			t.Error("ran without confirmation")
			return nil, nil
		}}}}
	srv := serve(t, b)
	btn := CommandButton("Promote anyway", "promote shop/web")
	signedSend(t, srv, "/slack/interactions", press("U1", btn.ActionID, btn.Value, "1700000000.100009"))
	b.Wait()
	posts := api.Of("chat.postMessage")
	if len(posts) != 1 || posts[0].Get("thread_ts") != "1700000000.100001" || button(t, posts[0], ActionConfirm) == "" {
		t.Fatalf("want one confirmation in the pressed message's thread: %s", api.Text())
	}
}

// Free text in a mention goes to the agent; a question it asks is answered by a plain reply in the
// thread, which continues the same task; Slack's retry of an event is answered once.
func TestMentionConversesInThread(t *testing.T) {
	api := newSlackAPI(t)
	var mu sync.Mutex
	var turns []Turn
	b := &Bridge{SigningSecret: secret, Client: api.Client(), Converse: func(ctx context.Context, in Turn, progress func(string)) (*Turn, error) {
		mu.Lock()
		turns = append(turns, in)
		n := len(turns)
		mu.Unlock()
		if id := auth.FromContext(ctx); id == nil || id.Name != "slack:U1" || auth.Allowed(ctx, auth.ScopeIssue) {
			t.Errorf("conversation runs as %+v, want the Slack user with read scope only", id)
		}
		progress("looking at the cluster")
		if n == 1 {
			return &Turn{Text: "Which namespace is checkout in? (shop, payments)", TaskID: "task-1", ContextID: "ctx-1", InputRequired: true}, nil
		}
		return &Turn{Text: "checkout in shop is healthy", TaskID: in.TaskID, ContextID: in.ContextID}, nil
	}}
	srv := serve(t, b)
	code, body := send(t, srv, "/slack/events", `{"type":"url_verification","challenge":"abc123","token":"x"}`,
		slacktesting.Sign(`{"type":"url_verification","challenge":"abc123","token":"x"}`, time.Now(), secret, formType))
	if code != http.StatusOK || body != "abc123" {
		t.Fatalf("url_verification: %d %q", code, body)
	}
	mention := eventJSON("Ev1", `{"type":"app_mention","user":"U1","text":"<@UBOT> is checkout healthy?","ts":"1700000001.000001","channel":"C1"}`)
	signedSend(t, srv, "/slack/events", mention)
	signedSend(t, srv, "/slack/events", strings.Replace(mention, `"event_time"`, `"retry":1,"event_time"`, 1)) // retry: same event id
	b.Wait()
	reply := eventJSON("Ev2", `{"type":"message","user":"U2","text":"shop","ts":"1700000002.000001","thread_ts":"1700000001.000001","channel":"C1"}`)
	signedSend(t, srv, "/slack/events", reply)
	unrelated := eventJSON("Ev3", `{"type":"message","user":"U1","text":"lunch?","ts":"1700000003.000001","thread_ts":"1699999999.000001","channel":"C1"}`)
	signedSend(t, srv, "/slack/events", unrelated)
	b.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(turns) != 2 || turns[0].Text != "is checkout healthy?" || turns[1].Text != "shop" || turns[1].TaskID != "task-1" || turns[1].ContextID != "ctx-1" {
		t.Fatalf("turns sent to the agent: %+v", turns)
	}
	for _, p := range api.Of("chat.postMessage") {
		if p.Get("thread_ts") != "1700000001.000001" {
			t.Errorf("answer outside the mention's thread: %v", p)
		}
	}
	if txt := api.Text(); !strings.Contains(txt, "Which namespace") || !strings.Contains(txt, "checkout in shop is healthy") || !strings.Contains(txt, "Answer in this thread") {
		t.Errorf("conversation not shown: %s", txt)
	}
}

func eventJSON(id, inner string) string {
	return `{"token":"x","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"` + id + `","event":` + inner + `,"event_time":1700000001}`
}

// A notification's open-issue and start-fix buttons (notify.go) ask for the same confirmation as typed
// commands; promote anyway is checked at the press (promote_anyway_test.go): a non-allowed presser is
// refused, a workload's button names no rollout.
func TestNotificationButtonsAskForConfirmation(t *testing.T) {
	api := newSlackAPI(t)
	checked := map[string]string{}
	var mu sync.Mutex
	write := func(name string) Write {
		return Write{Action: name, Check: func(args []string) (string, error) {
			mu.Lock()
			checked[name] = strings.Join(args, " ")
			mu.Unlock()
			return name + " " + strings.Join(args, " "), nil
		}, Run: func(context.Context, []string, func(string)) (*Reply, error) {
			t.Error("ran without confirmation")
			return nil, nil
		}}
	}
	b := &Bridge{SigningSecret: secret, Client: api.Client(), Writes: map[string]Write{"promote": write("promote"), "issue": write("issue"), "fix": write("fix")}}
	srv := serve(t, b)
	ref := ActionRef{Namespace: "shop", Rollout: "web", Issue: "https://github.com/acme/shop/issues/7"}.Encode()
	for _, id := range []string{ActionPromoteAnyway, ActionOpenIssue, ActionStartFix} {
		signedSend(t, srv, "/slack/interactions", press("U1", id, ref, "1700000000.100009"))
	}
	signedSend(t, srv, "/slack/interactions", press("U1", ActionPromoteAnyway, ActionRef{Namespace: "shop", Workload: "deployment/api"}.Encode(), "1700000000.100009"))
	b.Wait()
	mu.Lock()
	defer mu.Unlock()
	if checked["promote"] != "shop/web" || checked["issue"] != "shop/web" || checked["fix"] != "https://github.com/acme/shop/issues/7" {
		t.Errorf("commands from notification buttons: %v", checked)
	}
	if n := len(api.Of("chat.postMessage")); n != 2 {
		t.Errorf("%d confirmations posted, want 2 (issue, fix): %s", n, api.Text())
	}
	eph := api.Of("chat.postEphemeral")
	if len(eph) != 2 || !strings.Contains(api.Text(), "may not confirm") || !strings.Contains(api.Text(), "needs a rollout") {
		t.Errorf("a non-allowed promote anyway and a workload's promote must be refused to the presser: %s", api.Text())
	}
}

// In a mention, a command word without <ns>/<name> is a question for the agent; the command form runs
// the command.
func TestMentionCommandOrQuestion(t *testing.T) {
	api := newSlackAPI(t)
	var asked, ran atomic.Int32
	b := &Bridge{SigningSecret: secret, Client: api.Client(),
		Commands: map[string]Command{"investigate": func(context.Context, []string, func(string)) (*Reply, error) {
			ran.Add(1)
			return &Reply{Text: "ok"}, nil
		}},
		Converse: func(context.Context, Turn, func(string)) (*Turn, error) {
			asked.Add(1)
			return &Turn{Text: "which namespace?"}, nil
		}}
	srv := serve(t, b)
	signedSend(t, srv, "/slack/events", eventJSON("E1", `{"type":"app_mention","user":"U1","text":"<@UBOT> investigate shop","ts":"1.1","channel":"C1"}`))
	signedSend(t, srv, "/slack/events", eventJSON("E2", `{"type":"app_mention","user":"U1","text":"<@UBOT> investigate shop/web","ts":"1.2","channel":"C1"}`))
	b.Wait()
	if asked.Load() != 1 || ran.Load() != 1 {
		t.Errorf("agent asked %d times, command ran %d times; want once each", asked.Load(), ran.Load())
	}
}

// Help and an unknown command are told to the slash command's sender alone, naming every command.
func TestHelpAndUnknownCommand(t *testing.T) {
	api := newSlackAPI(t)
	noop := func(context.Context, []string, func(string)) (*Reply, error) { return &Reply{}, nil }
	b := &Bridge{SigningSecret: secret, Client: api.Client(), Commands: map[string]Command{"status": noop, "analyze": noop},
		Writes: map[string]Write{"abort": {Check: func([]string) (string, error) { return "", nil }, Run: noop}}}
	srv := serve(t, b)
	signedSend(t, srv, "/slack/commands", slash("help", "U1"))
	signedSend(t, srv, "/slack/commands", slash("frobnicate shop/web", "U1"))
	b.Wait()
	eph := api.Of("chat.postEphemeral")
	if len(api.Of("chat.postMessage")) != 0 || len(eph) != 2 {
		t.Fatalf("help must go to the sender alone: %s", api.Text())
	}
	for _, e := range eph {
		if e.Get("user") != "U1" || !strings.Contains(e.Get("text"), "Read: analyze, status, help") || !strings.Contains(e.Get("text"), "abort") {
			t.Errorf("help: %v", e)
		}
	}
	if !strings.Contains(api.Text(), `Unknown command "frobnicate"`) { // the two answers may come in either order
		t.Errorf("unknown command not named: %s", api.Text())
	}
}
