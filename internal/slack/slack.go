// Package slack is fixloop's Slack bridge: the /fixloop slash command, Events API mentions and the
// interactivity endpoint over HTTP (every request signed by Slack and verified here: v0 HMAC over the
// timestamp and body, a 5-minute window, replays refused), or the same over Socket Mode. Requests are
// acked at once and answered in a thread from a goroutine; progress is edited in place (chat.update);
// writes wait for a Block Kit confirmation only allowed users may press; every posted text is redacted.
//
// The package knows nothing of Kubernetes or the agents: cmd/fixloop wires Commands, Writes and
// Converse to the MCP tools' functions and the triage agent.
package slack

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/redact"
)

// Reply is what a command answers: text, and command lines offered as buttons under it ("abort
// shop/web"); a write offered this way still asks for confirmation when pressed.
type Reply struct {
	Text    string
	Actions []Action
}

// Action is one button under a reply: Command is the /fixloop command line it runs.
type Action struct {
	Label   string
	Command string
}

// Command runs one command ("analyze shop/web" → args ["shop/web"]); progress lines are shown in place
// while it runs.
type Command func(ctx context.Context, args []string, progress func(string)) (*Reply, error)

// Write is a command that changes something (promote, abort, fix): it runs only after an allowed user
// pressed its confirmation, and every press (refused ones too) is audited.
type Write struct {
	// Action names the write in the audit log (promote_rollout, abort_rollout, fix_issue).
	Action string
	// Check validates the arguments before a confirmation is shown and says what will be done
	// ("abort rollout shop/web"); its error is the usage shown to the user.
	Check func(args []string) (string, error)
	Run   Command
	// Timeout bounds the write (the bridge's Timeout when zero).
	Timeout time.Duration
}

// Bridge answers Slack.
type Bridge struct {
	SigningSecret string
	Client        *slack.Client
	Commands      map[string]Command // reads, by first word: status, analyze, investigate
	Writes        map[string]Write   // confirmed first: promote, abort, fix
	// Converse sends a mention's free text to the triage agent (nil: such a mention gets the help).
	Converse Converse
	// AllowedUsers and AllowedGroups (user-group IDs, members read with usergroups.users.list) may
	// confirm writes. Both empty: nobody may.
	AllowedUsers  []string
	AllowedGroups []string
	Audit         *auth.Audit
	Redactor      *redact.Redactor
	Logger        *slog.Logger
	// Timeout bounds one command's work (3 minutes when zero).
	Timeout time.Duration

	// State is shared by the replicas (the store): what was already acted on, which task a thread's
	// reply continues. Nil: kept in this process (one replica only).
	State State

	mem     *memState
	memOnce sync.Once
	groups  groupCache
	wg      sync.WaitGroup
}

// request is one thing a Slack user asked, from any surface (slash command, mention, button, Socket Mode).
type request struct {
	User, Channel string
	// Thread is the ts of the thread to answer in; empty: the request is first posted as a new message.
	Thread string
	Text   string
	// Mention: free text (not a command) goes to the triage agent.
	Mention bool
}

// Wait returns once every background command has posted (tests, shutdown).
func (b *Bridge) Wait() { b.wg.Wait() }

// async runs fn in the background (Slack gives up on an answer after 3 s); a panic is logged, never
// takes the server down.
func (b *Bridge) async(fn func()) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer func() {
			if p := recover(); p != nil {
				b.logger().Error("slack handler panicked", "panic", p)
			}
		}()
		fn()
	}()
}

func (b *Bridge) timeout(d time.Duration) time.Duration {
	switch {
	case d > 0:
		return d
	case b.Timeout > 0:
		return b.Timeout
	}
	return 3 * time.Minute
}

// dispatch answers one request: a read runs, a write asks for confirmation, free text in a mention goes
// to the triage agent, anything else gets the help.
func (b *Bridge) dispatch(req request) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout(0))
	defer cancel()
	name, args := splitCommand(req.Text)
	// "investigate shop" in a mention is a question for the agent (it asks for the namespace); only
	// the command form "<ns>/<name>" runs the command there.
	conversational := req.Mention && b.Converse != nil && (len(args) == 0 || !strings.Contains(args[0], "/"))
	switch {
	case b.Commands[name] != nil && !conversational:
		b.runRead(ctx, req, name, args)
	case b.Writes[name].Run != nil:
		b.askConfirmation(ctx, req, name, args)
	case req.Mention && b.Converse != nil && name != "" && name != "help":
		b.converse(req)
	case req.Thread == "": // help for a slash command is its sender's alone
		b.tell(ctx, req.Channel, "", req.User, b.help(name))
	default:
		b.post(ctx, req.Channel, req.Thread, b.help(name))
	}
}

func splitCommand(text string) (string, []string) {
	words := strings.Fields(text)
	if len(words) == 0 {
		return "", nil
	}
	return strings.ToLower(words[0]), words[1:]
}

// ensureThread returns the thread to answer req in, posting the request itself first when it has none
// (a slash command is only visible to its sender).
func (b *Bridge) ensureThread(ctx context.Context, req request) string {
	if req.Thread != "" {
		return req.Thread
	}
	ts := b.post(ctx, req.Channel, "", fmt.Sprintf("<@%s> asked: /fixloop %s", req.User, req.Text))
	return ts
}

// runRead runs a read command in the request's thread: a working message edited with progress, then
// with the answer.
func (b *Bridge) runRead(ctx context.Context, req request, name string, args []string) {
	thread := b.ensureThread(ctx, req)
	if thread == "" {
		return
	}
	ctx = auth.WithIdentity(ctx, slackIdentity(req.User, auth.ScopeRead))
	head := name + " " + strings.Join(args, " ")
	ts := b.post(ctx, req.Channel, thread, "⏳ "+head+": working…")
	reply, err := b.Commands[name](ctx, args, b.progress(ctx, req.Channel, ts, "⏳ "+head+": "))
	if err != nil {
		reply = &Reply{Text: name + " failed: " + err.Error()}
	}
	b.show(ctx, req.Channel, thread, ts, reply)
}

// slackIdentity is who a Slack user is to the rest of fixloop (audit log, A2A task owner).
func slackIdentity(user string, scopes ...string) *auth.Identity {
	return &auth.Identity{Name: "slack:" + user, Method: "slack", Scopes: scopes}
}

// show puts reply into message ts (or a new message in thread when ts is empty).
func (b *Bridge) show(ctx context.Context, channel, thread, ts string, reply *Reply) {
	opts := []slack.MsgOption{slack.MsgOptionText(b.redact(reply.Text), false)}
	if blocks := b.replyBlocks(reply); blocks != nil {
		opts = append(opts, slack.MsgOptionBlocks(blocks...))
	}
	if ts == "" {
		b.postOpts(ctx, channel, thread, opts...)
		return
	}
	if _, _, _, err := b.Client.UpdateMessageContext(ctx, channel, ts, opts...); err != nil {
		b.logger().Error("slack update failed", "channel", channel, "err", err)
	}
}

// progress edits message ts with each progress line, at most one edit a second (chat.update's rate
// limit); lines in between are dropped, the answer replaces the last one anyway.
func (b *Bridge) progress(ctx context.Context, channel, ts, prefix string) func(string) {
	var mu sync.Mutex
	var last time.Time
	return func(line string) {
		mu.Lock()
		if ts == "" || time.Since(last) < time.Second {
			mu.Unlock()
			return
		}
		last = time.Now()
		mu.Unlock()
		if _, _, _, err := b.Client.UpdateMessageContext(ctx, channel, ts, slack.MsgOptionText(b.redact(prefix+line), false)); err != nil {
			b.logger().Warn("slack progress update failed", "err", err)
		}
	}
}

// post sends text (redacted) to channel, in thread when set, and returns the message ts ("" on error).
func (b *Bridge) post(ctx context.Context, channel, thread, text string) string {
	return b.postOpts(ctx, channel, thread, slack.MsgOptionText(b.redact(text), false))
}

func (b *Bridge) postOpts(ctx context.Context, channel, thread string, opts ...slack.MsgOption) string {
	if thread != "" {
		opts = append(opts, slack.MsgOptionTS(thread))
	}
	_, ts, err := b.Client.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		b.logger().Error("slack post failed", "channel", channel, "err", err)
		return ""
	}
	return ts
}

// tell shows text to user alone (a refusal is nobody else's business).
func (b *Bridge) tell(ctx context.Context, channel, thread, user, text string) {
	opts := []slack.MsgOption{slack.MsgOptionText(b.redact(text), false)}
	if thread != "" {
		opts = append(opts, slack.MsgOptionTS(thread))
	}
	if _, err := b.Client.PostEphemeralContext(ctx, channel, user, opts...); err != nil {
		b.logger().Warn("slack ephemeral post failed", "err", err)
	}
}

func (b *Bridge) help(unknown string) string {
	var reads, writes []string
	for n := range b.Commands {
		reads = append(reads, n)
	}
	for n := range b.Writes {
		writes = append(writes, n)
	}
	text := "Usage: /fixloop <command> <namespace>/<name>. Read: " + strings.Join(sorted(reads), ", ") + ", help."
	if len(writes) > 0 {
		text += " Write (asks for confirmation by an allowed user): " + strings.Join(sorted(writes), ", ") + "."
	}
	if b.Converse != nil {
		text += " Or mention me with a question, e.g. \"@fixloop is checkout in shop healthy?\"."
	}
	if unknown != "" && unknown != "help" {
		text = fmt.Sprintf("Unknown command %q. %s", unknown, text)
	}
	return text
}

func (b *Bridge) redact(s string) string {
	if b.Redactor == nil {
		return redact.Default().String(s)
	}
	return b.Redactor.String(s)
}

func (b *Bridge) logger() *slog.Logger {
	if b.Logger == nil {
		return slog.Default()
	}
	return b.Logger
}
