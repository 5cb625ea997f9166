package slack

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/fixloop/fixloop/internal/slack/slacktesting"
)

// Over Socket Mode a slash command, a mention and a confirmation press each get their ack and the same
// handling as over HTTP; a resent envelope is handled once.
func TestSocketMode(t *testing.T) {
	api := newSlackAPI(t)
	ss := api.SocketMode(t, "xapp-test")
	var runs, turns atomic.Int32
	b := &Bridge{Client: slack.New("xoxb-test", slack.OptionAPIURL(api.URL()), slack.OptionAppLevelToken("xapp-test")),
		AllowedUsers: []string{"U9"},
		Commands: map[string]Command{"status": func(_ context.Context, args []string, _ func(string)) (*Reply, error) {
			return &Reply{Text: "status of " + args[0]}, nil
		}},
		Writes: map[string]Write{"abort": {Action: "abort_rollout", Check: func(a []string) (string, error) { return "abort rollout " + a[0], nil },
			Run: func(context.Context, []string, func(string)) (*Reply, error) {
				runs.Add(1)
				return &Reply{Text: "aborted"}, nil
			}}},
		Converse: func(_ context.Context, in Turn, _ func(string)) (*Turn, error) {
			turns.Add(1)
			return &Turn{Text: "answer to " + in.Text}, nil
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.RunSocketMode(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("socket mode ended with %v", err)
		}
	}()
	c := ss.Conn(t, 30*time.Second)
	ack := ss.Send(t, c, "env-1", "slash_commands", map[string]any{"command": "/fixloop", "text": "status shop/web", "user_id": "U1", "channel_id": "C1"})
	if !strings.Contains(string(ack), "working on it") {
		t.Errorf("slash command ack %s", ack)
	}
	ss.Send(t, c, "env-1", "slash_commands", map[string]any{"command": "/fixloop", "text": "status shop/web", "user_id": "U1", "channel_id": "C1"}) // resent
	ss.Send(t, c, "env-2", "events_api", json.RawMessage(eventJSON("Ev9", `{"type":"app_mention","user":"U1","text":"<@UBOT> how is shop?","ts":"1700000005.000001","channel":"C1"}`)))
	ss.Send(t, c, "env-3", "slash_commands", map[string]any{"command": "/fixloop", "text": "abort shop/web", "user_id": "U1", "channel_id": "C1"})
	b.Wait()
	var conf url.Values
	for _, p := range api.Of("chat.postMessage") {
		if strings.Contains(p.Get("blocks"), ActionConfirm) {
			conf = p
		}
	}
	ss.Send(t, c, "env-4", "interactive", json.RawMessage(slacktesting.Press("U9", ActionConfirm, button(t, conf, ActionConfirm), "1700000000.100099", "1700000000.100001")))
	b.Wait()
	txt := api.Text()
	if !strings.Contains(txt, "status of shop/web") || strings.Count(txt, "asked: /fixloop status") != 1 {
		t.Errorf("status over Socket Mode answered %d times: %s", strings.Count(txt, "asked: /fixloop status"), txt)
	}
	if turns.Load() != 1 || !strings.Contains(txt, "answer to how is shop?") {
		t.Errorf("mention over Socket Mode: %d turns; %s", turns.Load(), txt)
	}
	if runs.Load() != 1 || !strings.Contains(txt, "<@U9> confirmed *abort rollout shop/web*: aborted") {
		t.Errorf("confirmed abort over Socket Mode ran %d times: %s", runs.Load(), txt)
	}
}
