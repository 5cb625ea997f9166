package slack

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fixloop/fixloop/internal/auth"
)

// "Promote anyway" on a notification is one step: Slack's confirm dialog on the button is the
// confirmation, so the press itself promotes when the presser is allowed (checked at the press,
// audited), once per notification however often it is pressed; no second confirmation is posted and
// the notification stays as it was (the result goes in its thread). Other writes keep theirs.
func TestPromoteAnywayIsOneGuardedStep(t *testing.T) {
	api := newSlackAPI(t)
	api.SetGroup("S0OPS", "U2", "U3")
	var runs atomic.Int32
	audit := &memAudit{}
	b := &Bridge{SigningSecret: secret, Client: api.Client(), AllowedGroups: []string{"S0OPS"}, Audit: &auth.Audit{Store: audit},
		Writes: map[string]Write{"promote": {Action: "promote_rollout",
			Check: func(args []string) (string, error) { return "promote rollout " + args[0], nil },
			Run: func(ctx context.Context, args []string, _ func(string)) (*Reply, error) {
				if id := auth.FromContext(ctx); id == nil || id.Name != "slack:U2" && id.Name != "slack:U3" || !auth.Allowed(ctx, auth.ScopeWrite) {
					t.Errorf("promote ran as %+v, want the pressing Slack user with write scope", id)
				}
				runs.Add(1)
				return &Reply{Text: "promoted " + args[0]}, nil
			}}}}
	srv := serve(t, b)
	ref := ActionRef{Namespace: "shop", Rollout: "web"}.Encode()
	const notification = "1700000000.100050"
	signedSend(t, srv, "/slack/interactions", press("U1", ActionPromoteAnyway, ref, notification)) // not allowed
	b.Wait()
	if runs.Load() != 0 || !strings.Contains(api.Text(), "may not confirm") {
		t.Fatalf("a non-allowed press: %d runs, Slack saw %s", runs.Load(), api.Text())
	}
	for _, u := range []string{"U2", "U3"} { // two teammates at once
		signedSend(t, srv, "/slack/interactions", press(u, ActionPromoteAnyway, ref, notification))
	}
	b.Wait()
	if runs.Load() != 1 {
		t.Fatalf("promote anyway ran %d times, want once", runs.Load())
	}
	posts := api.Of("chat.postMessage")
	if len(posts) != 1 || strings.Contains(posts[0].Get("blocks"), ActionConfirm) || posts[0].Get("thread_ts") != "1700000000.100001" {
		t.Fatalf("want one result message in the notification's thread and no confirmation: %s", api.Text())
	}
	for _, u := range api.Of("chat.update") {
		if u.Get("ts") == notification {
			t.Errorf("the notification was overwritten: %v", u)
		}
	}
	if !strings.Contains(api.Text(), "> promoted anyway *promote rollout shop/web*: promoted shop/web") ||
		!strings.Contains(api.Text(), "already acted on") {
		t.Errorf("result or the repeated press not shown: %s", api.Text())
	}
	ev := audit.all()
	if len(ev) != 2 || ev[0].Who != "slack:U1" || ev[0].Result != "refused" || ev[1].Result != "ok" ||
		ev[1].Action != "promote_rollout" || ev[1].Target != "shop/web" || !strings.Contains(ev[1].Detail, "promote anyway") {
		t.Errorf("audit log: %+v", ev)
	}
}
