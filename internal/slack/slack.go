// Package slack is fixloop's Slack bridge in HTTP mode: the /fixloop slash command, signed by Slack
// and verified here (v0 HMAC over the timestamp and body, a 5-minute window, replays refused), acked
// at once and answered in a thread from a goroutine, every posted text redacted.
package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/fixloop/fixloop/internal/redact"
)

// Command runs one read command ("analyze shop/web") and returns the text to post.
type Command func(ctx context.Context, args []string) (string, error)

// Bridge answers Slack.
type Bridge struct {
	SigningSecret string
	Client        *slack.Client
	Commands      map[string]Command // by first word: status, analyze, ...
	Redactor      *redact.Redactor
	Logger        *slog.Logger
	// Timeout bounds one command's work (3 minutes when zero).
	Timeout time.Duration

	seen seenCache
	wg   sync.WaitGroup
}

const maxBody = 64 << 10 // Slack's slash command and event payloads are a few KiB

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
	if !b.seen.add(h.Get("X-Slack-Signature"), time.Now()) {
		return errors.New("replayed request")
	}
	return nil
}

// SlashHandler serves Slack's slash command requests.
func (b *Bridge) SlashHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil || len(body) > maxBody {
			http.Error(w, "request body too large or unreadable", http.StatusRequestEntityTooLarge)
			return
		}
		if err := b.Verify(r.Header, body); err != nil {
			b.logger().Warn("slack request refused", "err", err)
			http.Error(w, "invalid Slack signature", http.StatusUnauthorized)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		cmd, err := slack.SlashCommandParse(r)
		if err != nil {
			http.Error(w, "not a slash command", http.StatusBadRequest)
			return
		}
		// Slack gives up after 3 s: answer now, work in the background, post the result in a thread.
		b.wg.Add(1)
		go func() { defer b.wg.Done(); b.run(cmd) }()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"response_type":"ephemeral","text":"working on it…"}`)
	})
}

// Wait returns once every background command has posted (tests, shutdown).
func (b *Bridge) Wait() { b.wg.Wait() }

func (b *Bridge) run(cmd slack.SlashCommand) {
	timeout := b.Timeout
	if timeout <= 0 {
		timeout = 3 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	words := strings.Fields(cmd.Text)
	if len(words) == 0 || words[0] == "help" || b.Commands[words[0]] == nil {
		b.post(ctx, cmd.ChannelID, "", b.help())
		return
	}
	_, ts, err := b.Client.PostMessageContext(ctx, cmd.ChannelID, slack.MsgOptionText(b.redact(fmt.Sprintf("<@%s> asked: %s", cmd.UserID, cmd.Text)), false))
	if err != nil {
		b.logger().Error("slack post failed", "err", err)
		return
	}
	text, err := b.Commands[words[0]](ctx, words[1:])
	if err != nil {
		text = words[0] + " failed: " + err.Error()
	}
	b.post(ctx, cmd.ChannelID, ts, text)
}

func (b *Bridge) post(ctx context.Context, channel, thread, text string) {
	opts := []slack.MsgOption{slack.MsgOptionText(b.redact(text), false)}
	if thread != "" {
		opts = append(opts, slack.MsgOptionTS(thread))
	}
	if _, _, err := b.Client.PostMessageContext(ctx, channel, opts...); err != nil {
		b.logger().Error("slack post failed", "channel", channel, "err", err)
	}
}

func (b *Bridge) help() string {
	var names []string
	for n := range b.Commands {
		names = append(names, n)
	}
	return "Usage: /fixloop <command> <namespace>/<name>. Commands: " + strings.Join(sorted(names), ", ") + ", help."
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
