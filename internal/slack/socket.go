package slack

import (
	"context"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// RunSocketMode answers Slack over Socket Mode until ctx ends: slack-go's client opens the websocket
// with the app-level token (apps.connections.open) and reconnects; every envelope is acked at once and
// handled like its HTTP twin (the connection, authenticated by the app token, replaces the signature).
// The bridge's Client must carry the app-level token (slack.OptionAppLevelToken). It returns when ctx
// ends or Slack refuses the token (slack-go retries anything else).
func (b *Bridge) RunSocketMode(ctx context.Context) error {
	return b.runSocketMode(ctx, func(bool) {})
}

// ConnectSocketMode runs Socket Mode in the background until ctx ends and waits (at most wait) for the
// first attempt's outcome, so that a refused app-level token is the caller's error at start-up rather
// than a log line while Slack goes unanswered. Connected, or Slack unreachable (slack-go keeps
// retrying with backoff), it returns nil; a later end of the loop goes to stopped.
func (b *Bridge) ConnectSocketMode(ctx context.Context, wait time.Duration, stopped func(error)) error {
	settled := make(chan struct{})
	var once sync.Once
	ended := make(chan error, 1)
	go func() { ended <- b.runSocketMode(ctx, func(bool) { once.Do(func() { close(settled) }) }) }()
	select {
	case err := <-ended:
		return err
	case <-settled:
	case <-time.After(wait):
	}
	go func() { stopped(<-ended) }()
	return nil
}

// runSocketMode is RunSocketMode calling attempt after each connection attempt that did not end the
// loop (true: connected).
func (b *Bridge) runSocketMode(ctx context.Context, attempt func(connected bool)) error {
	sm := socketmode.New(b.Client)
	loop, stop := context.WithCancel(ctx)
	defer stop() // the loop gave up: nothing more comes
	go func() {
		for {
			select {
			case <-loop.Done():
				return
			case evt := <-sm.Events:
				b.socketEvent(ctx, sm, evt)
				switch evt.Type {
				case socketmode.EventTypeConnected:
					attempt(true)
				case socketmode.EventTypeConnectionError:
					attempt(false)
				}
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
