package slack

import (
	"context"
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
	if prev, ok := b.threadTurn(ctx, key); ok {
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
	b.putThreadTurn(ctx, key, *out)
	text := out.Text
	if out.InputRequired {
		text += "\n_Answer in this thread._"
	}
	b.show(ctx, req.Channel, req.Thread, ts, &Reply{Text: text})
}

// threadTTL is how long a thread's conversation is remembered: a reply a day later starts afresh.
const threadTTL = 24 * time.Hour

// waiting reports whether the thread's agent asked a question (a plain reply then answers it).
func (b *Bridge) waiting(key string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	turn, ok := b.threadTurn(ctx, key)
	return ok && turn.InputRequired
}
