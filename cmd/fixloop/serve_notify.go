package main

import (
	"log/slog"
	"strings"
	"sync"

	"github.com/slack-go/slack"

	"github.com/fixloop/fixloop/internal/config"
	"github.com/fixloop/fixloop/internal/redact"
	fxslack "github.com/fixloop/fixloop/internal/slack"
)

var (
	notifierMu sync.Mutex
	notifiers  = map[*config.Config]*fxslack.Notifier{}
)

// slackNotifier is the channel notifier when a bot token and --slack-notify-channel are set (nil: off).
// The triage and fixer agents of one server share it, so follow-ups of a failure land in one thread.
func slackNotifier(cfg *config.Config, red *redact.Redactor, logger *slog.Logger) *fxslack.Notifier {
	if cfg.Slack.BotToken == "" || cfg.Slack.NotifyChannel == "" {
		return nil
	}
	notifierMu.Lock()
	defer notifierMu.Unlock()
	if n := notifiers[cfg]; n != nil {
		return n
	}
	var opts []slack.Option
	if cfg.Slack.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(strings.TrimSuffix(cfg.Slack.APIURL, "/")+"/"))
	}
	n := &fxslack.Notifier{Client: slack.New(cfg.Slack.BotToken, opts...), Channel: cfg.Slack.NotifyChannel, Redactor: red, Logger: logger}
	notifiers[cfg] = n
	if logger != nil {
		logger.Info("slack notifications on", "channel", cfg.Slack.NotifyChannel)
	}
	return n
}
