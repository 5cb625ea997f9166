package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/slack-go/slack"

	"github.com/fixloop/fixloop/internal/config"
	fxslack "github.com/fixloop/fixloop/internal/slack"
	"github.com/fixloop/fixloop/tools"
)

// mountSlack serves the /fixloop slash command at /slack/commands when a bot token and signing secret
// are configured. The route skips bearer auth (serve_auth.go): Slack's request signature is checked instead.
func mountSlack(mux *http.ServeMux, cfg *config.Config, deps tools.Deps, logger *slog.Logger) {
	if cfg.Slack.BotToken == "" || cfg.Slack.SigningSecret == "" {
		return
	}
	var opts []slack.Option
	if cfg.Slack.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(strings.TrimSuffix(cfg.Slack.APIURL, "/")+"/"))
	}
	b := &fxslack.Bridge{SigningSecret: cfg.Slack.SigningSecret, Client: slack.New(cfg.Slack.BotToken, opts...),
		Redactor: deps.Redactor, Logger: logger, Commands: map[string]fxslack.Command{"analyze": slackAnalyze(deps)}}
	mux.Handle("POST /slack/commands", b.SlashHandler())
	logger.Info("slack bridge on", "commands", "/slack/commands")
}

// slackAnalyze is compare_canary (the MCP tool's function) for "analyze <namespace>/<rollout>".
func slackAnalyze(deps tools.Deps) fxslack.Command {
	return func(ctx context.Context, args []string) (string, error) {
		ns, name, ok := strings.Cut(strings.Join(args, ""), "/")
		if !ok || ns == "" || name == "" {
			return "", fmt.Errorf("usage: analyze <namespace>/<rollout>")
		}
		out, err := tools.CompareCanary(ctx, deps, tools.CompareCanaryInput{Namespace: ns, Rollout: name})
		if err != nil {
			return "", err
		}
		text := fmt.Sprintf("*%s* %s/%s (confidence %d): %s", out.Verdict, ns, name, out.Confidence, out.Analysis)
		if out.RootCause != "" {
			text += "\nRoot cause: " + out.RootCause
		}
		if out.Report != "" {
			text += "\nReport: " + out.Report
		}
		return text, nil
	}
}
