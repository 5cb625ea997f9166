package slack

import (
	"context"
	"sync"
	"time"

	"github.com/fixloop/fixloop/internal/auth"
)

// Turn is one message of a conversation with the triage agent.
type Turn struct {
	Text string
	// TaskID continues a task that asked a question; ContextID keeps a thread's conversation together.
	TaskID, ContextID string
	// InputRequired: the agent asked a question; the thread's next message answers it.
	InputRequired bool
	// Owner is the Slack user whose task it is (set by the bridge).
	Owner string
}

// Converse sends a Slack user's free text to the triage agent (over A2A) and returns its answer;
// progress receives the task's status lines while it works.
type Converse func(ctx context.Context, in Turn, progress func(string)) (*Turn, error)

// converse answers a mention (or a reply in a thread the agent asked a question in) in its thread.
func (b *Bridge) converse(req request) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout(0))
	defer cancel()
	key := req.Channel + "/" + req.Thread
	in, owner := Turn{Text: req.Text}, req.User
	if prev, ok := b.threads.get(key); ok {
		in.ContextID = prev.ContextID
		if prev.InputRequired {
			// Anyone in the thread may answer the agent's question; the task stays its asker's (A2A
			// tasks are visible to their creator only), and a conversation only reads.
			in.TaskID, owner = prev.TaskID, prev.Owner
		}
	}
	ctx = auth.WithIdentity(ctx, slackIdentity(owner, auth.ScopeRead))
	ts := b.post(ctx, req.Channel, req.Thread, "⏳ working…")
	out, err := b.Converse(ctx, in, b.progress(ctx, req.Channel, ts, "⏳ "))
	if err != nil {
		b.show(ctx, req.Channel, req.Thread, ts, &Reply{Text: "The triage agent failed: " + err.Error()})
		return
	}
	out.Owner = owner
	b.threads.put(key, *out)
	text := out.Text
	if out.InputRequired {
		text += "\n_Answer in this thread._"
	}
	b.show(ctx, req.Channel, req.Thread, ts, &Reply{Text: text})
}

// threadTasks remembers each thread's last turn for a day (bounded), so a reply continues the task.
type threadTasks struct {
	mu sync.Mutex
	at map[string]threadTurn
}

type threadTurn struct {
	turn Turn
	at   time.Time
}

const (
	threadTTL  = 24 * time.Hour
	maxThreads = 10000
)

func (t *threadTasks) get(key string) (Turn, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.at[key]
	if !ok || time.Since(e.at) > threadTTL {
		return Turn{}, false
	}
	return e.turn, true
}

// waiting reports whether the thread's agent asked a question (a plain reply then answers it).
func (t *threadTasks) waiting(key string) bool {
	turn, ok := t.get(key)
	return ok && turn.InputRequired
}

func (t *threadTasks) put(key string, turn Turn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.at == nil {
		t.at = map[string]threadTurn{}
	}
	if len(t.at) >= maxThreads {
		for k, e := range t.at {
			if time.Since(e.at) > threadTTL || len(t.at) >= maxThreads {
				delete(t.at, k)
			}
		}
	}
	t.at[key] = threadTurn{turn: turn, at: time.Now()}
}
