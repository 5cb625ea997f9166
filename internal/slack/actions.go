package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/fixloop/fixloop/internal/auth"
)

// Button action IDs handled by the interactivity endpoint.
const (
	// ActionCommandPrefix starts the action_id of a button whose value is a /fixloop command line
	// ("promote shop/web", "fix https://github.com/o/r/issues/3"): a read runs, a write asks for
	// confirmation first. Notifications use it for their buttons (e.g. "fixloop_cmd_promote").
	ActionCommandPrefix = "fixloop_cmd"
	// ActionConfirm and ActionCancel are the bridge's own confirmation buttons.
	ActionConfirm = "fixloop_confirm"
	ActionCancel  = "fixloop_cancel"
)

// CommandButton is a button running command (a /fixloop command line) when pressed.
func CommandButton(label, command string) *slack.ButtonBlockElement {
	id := ActionCommandPrefix + "_" + strings.ToLower(strings.Fields(command + " x")[0])
	return slack.NewButtonBlockElement(id, command, slack.NewTextBlockObject(slack.PlainTextType, label, false, false))
}

// replyBlocks lays out a reply with action buttons; nil for plain text.
func (b *Bridge) replyBlocks(reply *Reply) []slack.Block {
	if len(reply.Actions) == 0 {
		return nil
	}
	var buttons []slack.BlockElement
	for _, a := range reply.Actions {
		buttons = append(buttons, CommandButton(a.Label, a.Command))
	}
	text := slack.NewTextBlockObject(slack.MarkdownType, truncate(b.redact(reply.Text), 3000), false, false)
	return []slack.Block{slack.NewSectionBlock(text, nil, nil), slack.NewActionBlock("fixloop_actions", buttons...)}
}

// pending is what a confirmation button carries: the command and who asked. Slack signs the payload
// that brings it back, and the command is checked again when pressed.
type pending struct {
	Command string `json:"c"`
	Asker   string `json:"u"`
}

// askConfirmation posts a Block Kit confirmation for a write in the request's thread.
func (b *Bridge) askConfirmation(ctx context.Context, req request, name string, args []string) {
	thread := b.ensureThread(ctx, req)
	if thread == "" {
		return
	}
	what, err := b.Writes[name].Check(args)
	if err != nil {
		b.post(ctx, req.Channel, thread, name+": "+err.Error())
		return
	}
	val, _ := json.Marshal(pending{Command: strings.Join(append([]string{name}, args...), " "), Asker: req.User})
	text := fmt.Sprintf("<@%s> asks to *%s*. Only allowed users may confirm.", req.User, what)
	confirm := slack.NewButtonBlockElement(ActionConfirm, string(val), slack.NewTextBlockObject(slack.PlainTextType, "Confirm", false, false))
	confirm.Style = slack.StyleDanger
	cancel := slack.NewButtonBlockElement(ActionCancel, string(val), slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false))
	blocks := []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, b.redact(text), false, false), nil, nil),
		slack.NewActionBlock("fixloop_confirmation", confirm, cancel),
	}
	b.postOpts(ctx, req.Channel, thread, slack.MsgOptionText(b.redact(text), false), slack.MsgOptionBlocks(blocks...))
}

// interact handles one block_actions payload.
func (b *Bridge) interact(cb slack.InteractionCallback) {
	if cb.Type != slack.InteractionTypeBlockActions {
		return
	}
	for _, a := range cb.ActionCallback.BlockActions {
		switch {
		case a.ActionID == ActionConfirm:
			b.confirm(cb, a.Value)
		case a.ActionID == ActionCancel:
			b.cancel(cb, a.Value)
		case strings.HasPrefix(a.ActionID, ActionCommandPrefix):
			b.dispatch(request{User: cb.User.ID, Channel: cb.Channel.ID, Thread: threadOf(cb), Text: a.Value})
		case a.ActionID == ActionPromoteAnyway:
			b.promoteAnyway(cb, a.Value)
		case a.ActionID == ActionOpenIssue || a.ActionID == ActionStartFix:
			cmd, err := noticeCommand(a.ActionID, a.Value)
			if err != nil {
				b.tell(context.Background(), cb.Channel.ID, threadOf(cb), cb.User.ID, err.Error())
				continue
			}
			b.dispatch(request{User: cb.User.ID, Channel: cb.Channel.ID, Thread: threadOf(cb), Text: cmd})
		}
	}
}

// noticeCommand turns a notification's button (notify.go) into the command line it stands for; the
// write it names then asks for confirmation like a typed one (promote anyway excepted: promoteAnyway).
func noticeCommand(actionID, value string) (string, error) {
	ref, err := DecodeActionRef(value)
	if err != nil {
		return "", err
	}
	target := ref.Namespace + "/" + ref.Rollout
	switch {
	case actionID == ActionStartFix && ref.Issue != "":
		return "fix " + ref.Issue, nil
	case actionID == ActionStartFix:
		return "", errors.New("this notification names no issue to fix yet: open the issue first")
	case ref.Rollout == "":
		return "", fmt.Errorf("%s needs a rollout; %s/%s is a workload (use the monitor's findings)", actionID, ref.Namespace, ref.Workload)
	case actionID == ActionPromoteAnyway:
		return "promote " + target, nil
	}
	return "issue " + target, nil
}

// threadOf is the thread a pressed message belongs to (the message itself when it starts none).
func threadOf(cb slack.InteractionCallback) string {
	if cb.Message.ThreadTimestamp != "" {
		return cb.Message.ThreadTimestamp
	}
	if cb.Container.ThreadTs != "" {
		return cb.Container.ThreadTs
	}
	return cb.Message.Timestamp
}

// confirm runs a confirmed write when the presser is allowed, once per confirmation message, and
// edits the confirmation into the write's progress and result.
func (b *Bridge) confirm(cb slack.InteractionCallback, value string) {
	var p pending
	_ = json.Unmarshal([]byte(value), &p)
	b.guardedWrite(cb, guarded{command: p.Command, asker: p.Asker, once: "press:" + cb.Channel.ID + "/" + cb.Message.Timestamp,
		verb: "confirmed", edit: cb.Message.Timestamp})
}

// promoteAnyway promotes a rollout from a notification's button in one step: Slack's own confirm
// dialog on the button is the confirmation, so the press itself is checked against the allowed users
// and groups, audited, and acted on once per notification however often (or wherever) it is pressed.
// The result goes in the notification's thread; the notification stays as it was.
func (b *Bridge) promoteAnyway(cb slack.InteractionCallback, value string) {
	cmd, err := noticeCommand(ActionPromoteAnyway, value)
	if err != nil {
		b.tell(context.Background(), cb.Channel.ID, threadOf(cb), cb.User.ID, err.Error())
		return
	}
	b.guardedWrite(cb, guarded{command: cmd, asker: cb.User.ID, detail: "promote anyway from a notification (Slack confirm dialog)",
		once: "press:" + cb.Channel.ID + "/" + cb.Message.Timestamp + "/" + ActionPromoteAnyway, verb: "promoted anyway"})
}

// guarded is one press that runs a write.
type guarded struct {
	command, asker string
	detail         string // audit detail (default: who asked)
	once           string // the press's once-mark: the write runs for the first allowed press only
	verb           string // "<@user> <verb> *what*: result"
	edit           string // message to edit with the progress and result; empty: a new one in the thread
}

// guardedWrite runs g's write when the presser is allowed (audited either way) and g was not acted on.
func (b *Bridge) guardedWrite(cb slack.InteractionCallback, g guarded) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	user, channel, thread := cb.User.ID, cb.Channel.ID, threadOf(cb)
	name, args := splitCommand(g.command)
	w, ok := b.Writes[name]
	if !ok || w.Run == nil {
		b.tell(ctx, channel, thread, user, "This button names no known command.")
		return
	}
	what, err := w.Check(args)
	if err != nil {
		b.tell(ctx, channel, thread, user, name+": "+err.Error())
		return
	}
	if g.detail == "" {
		g.detail = "asked by slack:" + g.asker
	}
	ev := auth.AuditEvent{Who: "slack:" + user, Method: "slack", Action: w.Action, Target: strings.Join(args, " "), Detail: g.detail}
	if ok, why := b.allowed(ctx, user); !ok {
		ev.Result, ev.Detail = "refused", why
		b.Audit.Record(ctx, ev)
		b.tell(ctx, channel, thread, user, "You may not confirm this ("+why+"). Ask someone allowed to write.")
		return
	}
	if !b.once(ctx, g.once, pressTTL) {
		b.tell(ctx, channel, thread, user, "This was already acted on.")
		return
	}
	head := fmt.Sprintf("<@%s> %s *%s*: ", user, g.verb, what)
	if g.edit == "" {
		g.edit = b.post(ctx, channel, thread, head+"running…")
	}
	b.runWrite(user, channel, g.edit, head, w, args, ev)
}

// runWrite edits message ts into the write's progress and result, and audits the outcome.
func (b *Bridge) runWrite(user, channel, ts, head string, w Write, args []string, ev auth.AuditEvent) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout(w.Timeout))
	defer cancel()
	ctx = auth.WithIdentity(ctx, slackIdentity(user, auth.ScopeRead, auth.ScopeWrite, auth.ScopeIssue, auth.ScopeFix))
	b.show(ctx, channel, "", ts, &Reply{Text: head + "running…"})
	reply, err := w.Run(ctx, args, b.progress(ctx, channel, ts, head))
	ev.Result = "ok"
	if err != nil {
		ev.Result, ev.Detail = "error", err.Error()
		reply = &Reply{Text: "failed: " + err.Error()}
	}
	b.Audit.Record(ctx, ev)
	reply.Text = head + reply.Text
	b.show(ctx, channel, "", ts, reply)
}

// cancel withdraws a confirmation; only its asker or an allowed user may.
func (b *Bridge) cancel(cb slack.InteractionCallback, value string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var p pending
	_ = json.Unmarshal([]byte(value), &p)
	user, channel, msg := cb.User.ID, cb.Channel.ID, cb.Message.Timestamp
	if ok, _ := b.allowed(ctx, user); !ok && user != p.Asker {
		b.tell(ctx, channel, threadOf(cb), user, "Only the asker or an allowed user may cancel this.")
		return
	}
	if !b.once(ctx, "press:"+channel+"/"+msg, pressTTL) {
		return
	}
	b.show(ctx, channel, "", msg, &Reply{Text: fmt.Sprintf("<@%s> cancelled: %s", user, p.Command)})
}

// allowed reports whether user may confirm writes, and why not. A user-group lookup that fails refuses.
func (b *Bridge) allowed(ctx context.Context, user string) (bool, string) {
	for _, u := range b.AllowedUsers {
		if u == user {
			return true, ""
		}
	}
	for _, g := range b.AllowedGroups {
		members, err := b.groups.members(ctx, b.Client, g)
		if err != nil {
			b.logger().Warn("slack user group unreadable", "group", g, "err", err)
			return false, "could not read user group " + g
		}
		for _, m := range members {
			if m == user {
				return true, ""
			}
		}
	}
	return false, "not an allowed user or member of an allowed user group"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
