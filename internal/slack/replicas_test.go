package slack

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fixloop/fixloop/internal/pgtest"
	"github.com/fixloop/fixloop/internal/slack/slacktesting"
	"github.com/fixloop/fixloop/internal/store"
)

// twoReplicas starts a real PostgreSQL and returns two bridges made by newBridge, each with its own
// store (its own connection pool) on one database, like two fixloop serve replicas, and their servers.
func twoReplicas(t *testing.T, newBridge func() *Bridge) ([2]*Bridge, [2]*httptest.Server) {
	t.Helper()
	if os.Getenv("FIXLOOP_SKIP_CLUSTER") == "1" || testing.Short() {
		t.Skip("FIXLOOP_SKIP_CLUSTER=1 or -short: skipping the PostgreSQL replicas test")
	}
	ctx := context.Background()
	pg, err := pgtest.Start(ctx)
	if err != nil {
		t.Fatal(err) // a missing PostgreSQL fails the test
	}
	t.Cleanup(pg.Stop)
	url, err := pg.NewDatabase(ctx, "slack_replicas")
	if err != nil {
		t.Fatal(err)
	}
	var bridges [2]*Bridge
	var srvs [2]*httptest.Server
	for i := range bridges {
		st, err := store.OpenPostgres(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		bridges[i] = newBridge()
		bridges[i].State = st
		srvs[i] = serve(t, bridges[i])
	}
	return bridges, srvs
}

// both sends one request to each replica at the same moment and waits for their work.
func both(t *testing.T, bridges [2]*Bridge, send func(i int)) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range bridges {
		wg.Add(1)
		go func() { defer wg.Done(); send(i) }()
	}
	wg.Wait()
	for _, b := range bridges {
		b.Wait()
	}
}

// Two replicas on one PostgreSQL: one confirmation (or one notification's promote anyway) pressed on
// both at once runs its write once; an event Slack delivers to both (a retry) is answered once; a
// request replayed to the other replica is refused; a reply in a thread received by the other replica
// continues the task that asked. With the guard and the thread memory in process memory each replica
// acted on its own.
func TestReplicasShareSlackState(t *testing.T) {
	api := newSlackAPI(t)
	var writes, promotes, turns atomic.Int32
	var mu sync.Mutex
	var lastTurn Turn
	bridges, srvs := twoReplicas(t, func() *Bridge {
		return &Bridge{SigningSecret: secret, Client: api.Client(), AllowedUsers: []string{"U8", "U9"},
			Writes: map[string]Write{"abort": {Action: "abort_rollout",
				Check: func(args []string) (string, error) { return "abort rollout " + args[0], nil },
				Run: func(context.Context, []string, func(string)) (*Reply, error) {
					writes.Add(1)
					return &Reply{Text: "aborted"}, nil
				}}, "promote": {Action: "promote_rollout",
				Check: func(args []string) (string, error) { return "promote rollout " + args[0], nil },
				Run: func(context.Context, []string, func(string)) (*Reply, error) {
					promotes.Add(1)
					return &Reply{Text: "promoted"}, nil
				}}},
			Converse: func(_ context.Context, in Turn, _ func(string)) (*Turn, error) {
				turns.Add(1)
				mu.Lock()
				lastTurn = in
				mu.Unlock()
				if in.TaskID == "" { // a new question: the agent asks back
					return &Turn{Text: "Which namespace?", TaskID: "task-" + in.Text, ContextID: "ctx-" + in.Text, InputRequired: true}, nil
				}
				return &Turn{Text: "healthy", TaskID: in.TaskID, ContextID: in.ContextID}, nil
			}}
	})

	signedSend(t, srvs[0], "/slack/commands", slash("abort shop/web", "U1"))
	bridges[0].Wait()
	posts := api.Of("chat.postMessage")
	val := button(t, posts[len(posts)-1], ActionConfirm)
	ts := "1700000000.100002"
	users := [2]string{"U8", "U9"} // two allowed users, so the two presses are two signed requests
	both(t, bridges, func(i int) { signedSend(t, srvs[i], "/slack/interactions", press(users[i], ActionConfirm, val, ts)) })
	if writes.Load() != 1 {
		t.Errorf("one confirmation pressed on two replicas ran the write %d times, want once", writes.Load())
	}

	ref := ActionRef{Namespace: "shop", Rollout: "web"}.Encode()
	both(t, bridges, func(i int) {
		signedSend(t, srvs[i], "/slack/interactions", press(users[i], ActionPromoteAnyway, ref, "1700000000.100090"))
	})
	if promotes.Load() != 1 {
		t.Errorf("one notification's promote anyway pressed on two replicas promoted %d times, want once", promotes.Load())
	}

	mention := eventJSON("EvR1", `{"type":"app_mention","user":"U1","text":"<@UBOT> is checkout healthy?","ts":"1700000001.000001","channel":"C1"}`)
	retry := strings.Replace(mention, `"event_time"`, `"retry":1,"event_time"`, 1) // same event id, new signature
	bodies := [2]string{mention, retry}
	both(t, bridges, func(i int) { signedSend(t, srvs[i], "/slack/events", bodies[i]) })
	if turns.Load() != 1 {
		t.Errorf("an event delivered to both replicas was answered %d times, want once", turns.Load())
	}

	h := slacktesting.Sign(slash("help", "U1"), time.Now(), secret, formType)
	if code, _ := send(t, srvs[0], "/slack/commands", slash("help", "U1"), h); code != http.StatusOK {
		t.Fatalf("signed request: %d", code)
	}
	if code, _ := send(t, srvs[1], "/slack/commands", slash("help", "U1"), h); code != http.StatusUnauthorized {
		t.Errorf("the same signed request replayed to the other replica: %d, want 401", code)
	}

	signedSend(t, srvs[0], "/slack/events", eventJSON("EvR2", `{"type":"app_mention","user":"U1","text":"<@UBOT> is cart healthy?","ts":"1700000005.000001","channel":"C1"}`))
	bridges[0].Wait()
	signedSend(t, srvs[1], "/slack/events", eventJSON("EvR3", `{"type":"message","user":"U2","text":"shop","ts":"1700000006.000001","thread_ts":"1700000005.000001","channel":"C1"}`))
	bridges[1].Wait()
	mu.Lock()
	defer mu.Unlock()
	if turns.Load() != 3 || lastTurn.Text != "shop" || lastTurn.TaskID != "task-is cart healthy?" || lastTurn.ContextID != "ctx-is cart healthy?" {
		t.Fatalf("a reply received by the other replica did not continue the task: %d turns, last %+v", turns.Load(), lastTurn)
	}
}
