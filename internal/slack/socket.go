package slack

import (
	"context"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// RunSocketMode answers Slack over Socket Mode until ctx ends: slack-go's client opens the websocket
// with the app-level token (apps.connections.open) and reconnects; every envelope is acked at once and
// handled like its HTTP twin (the connection, authenticated by the app token, replaces the signature).
// The bridge's Client must carry the app-level token (slack.OptionAppLevelToken).
func (b *Bridge) RunSocketMode(ctx context.Context) error {
	sm := socketmode.New(b.Client)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-sm.Events:
				b.socketEvent(ctx, sm, evt)
			}
		}
	}()
	return sm.RunContext(ctx)
}

// socketEvent acks and dispatches one Socket Mode envelope; an envelope Slack resends (it saw no ack
// in time) is handled once.
func (b *Bridge) socketEvent(ctx context.Context, sm *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnected:
		b.logger().Info("slack socket mode connected")
		return
	case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth:
		b.logger().Warn("slack socket mode connection failed", "type", evt.Type, "data", evt.Data)
		return
	}
	if evt.Request == nil || evt.Request.EnvelopeID == "" {
		return
	}
	first, err := b.mark(ctx, "envelope:"+evt.Request.EnvelopeID, deliveryTTL)
	if err != nil {
		return // not acked: Slack sends the envelope again
	}
	if first {
		switch data := evt.Data.(type) { // handlers only start goroutines: the ack below is not delayed
		case slack.SlashCommand:
			b.async(func() { b.dispatch(slashRequest(data)) })
		case slack.InteractionCallback:
			b.async(func() { b.interact(data) })
		case slackevents.EventsAPIEvent:
			if b.event(data) != nil {
				return
			}
		}
	}
	var payload any
	if evt.Type == socketmode.EventTypeSlashCommand {
		payload = map[string]any{"response_type": "ephemeral", "text": "working on it…"}
	}
	if err := sm.AckCtx(ctx, evt.Request.EnvelopeID, payload); err != nil {
		b.logger().Warn("slack socket mode ack failed", "err", err)
	}
}
