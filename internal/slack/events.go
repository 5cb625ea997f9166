package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/slack-go/slack/slackevents"
)

// EventsHandler serves the Events API: the url_verification handshake and event callbacks (app_mention,
// and message events in threads where the agent asked a question).
func (b *Bridge) EventsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := b.readSigned(w, r, maxBody)
		if body == nil {
			return
		}
		// The signature has been checked; the deprecated verification token is not used.
		ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
		if err != nil {
			http.Error(w, "not a Slack event", http.StatusBadRequest)
			return
		}
		if ev.Type == slackevents.URLVerification {
			var ch slackevents.ChallengeResponse
			if err := json.Unmarshal(body, &ch); err != nil {
				http.Error(w, "bad url_verification", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte(ch.Challenge))
			return
		}
		if err := b.event(ev); err != nil {
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable) // Slack retries it
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// event answers one callback event in the background, once per event id across replicas (Slack
// retries an event it thinks was not acked, with a new signature, possibly to another replica). An
// error means the shared state could not tell: the event is left for Slack's retry.
func (b *Bridge) event(ev slackevents.EventsAPIEvent) error {
	if ev.Type != slackevents.CallbackEvent {
		return nil
	}
	if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok && cb.EventID != "" {
		first, err := b.mark(context.Background(), "event:"+cb.EventID, deliveryTTL)
		if err != nil || !first {
			return err
		}
	}
	b.answerEvent(ev)
	return nil
}

// answerEvent starts the answer to a mention, or to a reply in a thread whose agent asked a question.
func (b *Bridge) answerEvent(ev slackevents.EventsAPIEvent) {
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.AppMentionEvent:
		if e.BotID != "" { // never answer a bot (ourselves included): no loops
			return
		}
		b.async(func() { b.dispatch(mentionRequest(e.User, e.Channel, e.ThreadTimeStamp, e.TimeStamp, e.Text)) })
	case *slackevents.MessageEvent:
		// A plain reply in a thread where the agent asked a question answers it; mentions come as
		// app_mention (also delivered as message events: skipped here).
		if e.BotID != "" || e.SubType != "" || e.ThreadTimeStamp == "" || mentionRE.MatchString(e.Text) ||
			!b.waiting(e.Channel+"/"+e.ThreadTimeStamp) {
			return
		}
		b.async(func() { b.dispatch(mentionRequest(e.User, e.Channel, e.ThreadTimeStamp, e.TimeStamp, e.Text)) })
	}
}

var mentionRE = regexp.MustCompile(`<@[A-Z0-9]+(\|[^>]*)?>`)

// mentionRequest answers in the mention's thread (its own when it starts none), without the mention.
func mentionRequest(user, channel, thread, ts, text string) request {
	if thread == "" {
		thread = ts
	}
	text = strings.TrimSpace(mentionRE.ReplaceAllString(text, " "))
	return request{User: user, Channel: channel, Thread: thread, Text: text, Mention: true}
}
