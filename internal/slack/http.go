package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/slack-go/slack"
)

const (
	maxBody        = 64 << 10  // slash commands and events are a few KiB
	maxInteraction = 512 << 10 // a block_actions payload carries the whole message it came from
)

// Verify checks Slack's signature over body and refuses a request seen before (same signature).
func (b *Bridge) Verify(h http.Header, body []byte) error {
	sv, err := slack.NewSecretsVerifier(h, b.SigningSecret) // refuses timestamps older than 5 minutes
	if err != nil {
		return err
	}
	if _, err := sv.Write(body); err != nil {
		return err
	}
	if err := sv.Ensure(); err != nil {
		return err
	}
	first, err := b.mark(context.Background(), "sig:"+h.Get("X-Slack-Signature"), deliveryTTL)
	if err != nil {
		return err
	}
	if !first {
		return errors.New("replayed request")
	}
	return nil
}

// readSigned reads a bounded body and verifies it; on failure it has answered and returns nil.
func (b *Bridge) readSigned(w http.ResponseWriter, r *http.Request, limit int64) []byte {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil || int64(len(body)) > limit {
		http.Error(w, "request body too large or unreadable", http.StatusRequestEntityTooLarge)
		return nil
	}
	if err := b.Verify(r.Header, body); err != nil {
		b.logger().Warn("slack request refused", "path", r.URL.Path, "err", err)
		if errors.Is(err, errState) {
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return nil
		}
		http.Error(w, "invalid Slack signature", http.StatusUnauthorized)
		return nil
	}
	return body
}

// SlashHandler serves Slack's slash command requests (/fixloop ...).
func (b *Bridge) SlashHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := b.readSigned(w, r, maxBody)
		if body == nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		cmd, err := slack.SlashCommandParse(r)
		if err != nil {
			http.Error(w, "not a slash command", http.StatusBadRequest)
			return
		}
		b.async(func() { b.dispatch(slashRequest(cmd)) })
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"response_type":"ephemeral","text":"working on it…"}`)
	})
}

func slashRequest(cmd slack.SlashCommand) request {
	return request{User: cmd.UserID, Channel: cmd.ChannelID, Text: cmd.Text}
}

// InteractionHandler serves the interactivity endpoint: block_actions from the bridge's confirmation
// buttons and from the command buttons under answers and notifications.
func (b *Bridge) InteractionHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := b.readSigned(w, r, maxInteraction)
		if body == nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := r.ParseForm(); err != nil {
			http.Error(w, "not a form", http.StatusBadRequest)
			return
		}
		var cb slack.InteractionCallback
		if err := json.Unmarshal([]byte(r.PostForm.Get("payload")), &cb); err != nil {
			http.Error(w, "payload is not an interaction", http.StatusBadRequest)
			return
		}
		b.async(func() { b.interact(cb) })
		w.WriteHeader(http.StatusOK)
	})
}
