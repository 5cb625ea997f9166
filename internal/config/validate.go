package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/fixloop/fixloop/internal/prom"
)

var repoRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

// Validate checks every setting and reports all problems at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(setting, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", setting, fmt.Sprintf(format, args...)))
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen (--listen / FIXLOOP_LISTEN)", "%q is not host:port like 127.0.0.1:8080 or :8080", c.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad("listen (--listen / FIXLOOP_LISTEN)", "port %q is not a number 0-65535", port)
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, strings.ToLower(c.Log.Level)) {
		bad("log level (--log-level / FIXLOOP_LOG_LEVEL)", "%q is not debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log format (--log-format / FIXLOOP_LOG_FORMAT)", "%q is not text or json", c.Log.Format)
	}
	if c.Kube.Kubeconfig != "" {
		for _, p := range filepath.SplitList(c.Kube.Kubeconfig) {
			if _, err := os.Stat(p); err != nil {
				bad("kubeconfig (--kubeconfig / FIXLOOP_KUBECONFIG)", "%v", err)
			}
		}
	}
	if c.Kube.Timeout.Duration <= 0 {
		bad("kube timeout (--kube-timeout)", "must be positive")
	}
	if c.Prometheus.Timeout.Duration <= 0 {
		bad("prometheus timeout (--prometheus-timeout)", "must be positive")
	}
	checkURL := func(name, v string) {
		if v == "" {
			return
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(name, "%q is not an http(s) URL", v)
		}
	}
	checkURL("prometheus URL (--prometheus-url / FIXLOOP_PROMETHEUS_URL)", c.Prometheus.URL)
	checkURL("LLM base URL (--llm-base-url / FIXLOOP_LLM_BASE_URL)", c.LLM.BaseURL)
	checkURL("GitHub base URL (--github-base-url / FIXLOOP_GITHUB_BASE_URL)", c.GitHub.BaseURL)
	checkURL("fixer agent URL (--fixer-agent-url / FIXLOOP_FIXER_AGENT_URL)", c.Fixer.AgentURL)
	checkURL("OpenCode URL (--opencode-url / FIXLOOP_OPENCODE_URL)", c.Fixer.OpenCodeURL)
	checkURL("public URL (--public-url / FIXLOOP_PUBLIC_URL)", c.PublicURL)
	checkURL("Slack API URL (--slack-api-url / FIXLOOP_SLACK_API_URL)", c.Slack.APIURL)
	c.validateSlack(bad)
	if c.Slack.NotifyChannel != "" && c.Slack.BotToken == "" {
		bad("Slack notify channel (--slack-notify-channel)", "needs the bot token (FIXLOOP_SLACK_BOT_TOKEN) to post")
	}
	c.validateLLM(bad)
	c.validateFixer(bad)
	if c.GitHub.Repo != "" && !repoRE.MatchString(c.GitHub.Repo) {
		bad("GitHub repo (--github-repo / FIXLOOP_GITHUB_REPO)", "%q is not owner/name", c.GitHub.Repo)
	}
	for _, p := range c.Fixer.Repos {
		if _, err := path.Match(p, "x/y"); err != nil || strings.Count(p, "/") != 1 {
			bad("fixer repos (--fixer-repos / FIXLOOP_FIXER_REPOS)", "%q is not an owner/name glob like acme/*", p)
		}
	}
	if c.Store != "" && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://") {
		bad("store (--store / FIXLOOP_STORE)", "must be a postgres:// or postgresql:// URL, or empty for SQLite in the state dir")
	}
	if c.StateDir == "" {
		bad("state dir (--state-dir / FIXLOOP_STATE_DIR)", "must not be empty")
	}
	if src := c.Prometheus.Source; src != "" && !slices.Contains(prom.SourceNames(), src) {
		bad("metrics source (--metrics-source / FIXLOOP_METRICS_SOURCE)", "%q is not a known source (known: %s)", src, strings.Join(prom.SourceNames(), ", "))
	}
	for name, q := range c.Prometheus.PromQL {
		if strings.TrimSpace(q) == "" {
			bad("prometheus.promql."+name, "empty query")
		}
	}
	errs = append(errs, c.Monitor.validate()...)
	errs = append(errs, c.Handoff.validate()...)
	c.validateAuth(bad)
	c.validateTelemetry(bad)
	return errors.Join(errs...)
}

func (c *Config) validateLLM(bad func(setting, format string, args ...any)) {
	switch c.LLM.Provider {
	case "", "none", "openai":
	case "gemini":
		if c.LLM.APIKey == "" {
			bad("LLM API key (GEMINI_API_KEY, GOOGLE_API_KEY or FIXLOOP_LLM_API_KEY)", "gemini needs an API key")
		}
	default:
		bad("LLM provider (--llm-provider / FIXLOOP_LLM_PROVIDER)", "%q is not none, gemini or openai", c.LLM.Provider)
	}
	if c.LLM.MaxPromptTokens < 0 {
		bad("LLM prompt budget (--llm-max-prompt-tokens / FIXLOOP_LLM_MAX_PROMPT_TOKENS)", "must not be negative")
	}
}

func (c *Config) validateFixer(bad func(setting, format string, args ...any)) {
	f := c.Fixer
	if f.Timeout.Duration <= 0 {
		bad("fixer timeout (--fixer-timeout / FIXLOOP_FIXER_TIMEOUT)", "must be positive")
	}
	if f.Concurrency < 1 {
		bad("fixer concurrency (--fixer-concurrency / FIXLOOP_FIXER_CONCURRENCY)", "must be at least 1")
	}
	if f.RetryLimit < 1 {
		bad("fixer retry limit (--fixer-retry-limit / FIXLOOP_FIXER_RETRY_LIMIT)", "must be at least 1")
	}
	if p, m, ok := strings.Cut(f.OpenCodeModel, "/"); f.OpenCodeModel != "" && (!ok || p == "" || m == "") {
		bad("OpenCode model (--opencode-model / FIXLOOP_OPENCODE_MODEL)", "%q is not provider/model", f.OpenCodeModel)
	}
}

// validateSlack: HTTP mode needs the bot token and the signing secret (requests are verified with it),
// Socket Mode the bot token and the app-level token; either credential alone cannot work.
func (c *Config) validateSlack(bad func(setting, format string, args ...any)) {
	s := c.Slack
	if s.BotToken == "" && (s.SigningSecret != "" || s.AppToken != "") {
		bad("Slack bot token (FIXLOOP_SLACK_BOT_TOKEN)", "required with the signing secret or app token: answers are posted with it")
	}
	if s.BotToken != "" && s.SigningSecret == "" && s.AppToken == "" {
		bad("Slack (FIXLOOP_SLACK_SIGNING_SECRET or FIXLOOP_SLACK_APP_TOKEN)", "set the signing secret (HTTP mode) or an app-level token (Socket Mode): requests cannot be verified otherwise")
	}
	if s.AppToken != "" && !strings.HasPrefix(s.AppToken, "xapp-") {
		bad("Slack app token (FIXLOOP_SLACK_APP_TOKEN)", "an app-level token starts with xapp-")
	}
	for _, u := range s.AllowedUsers {
		if !slackIDRE.MatchString(u) || (u[0] != 'U' && u[0] != 'W') {
			bad("Slack allowed users (--slack-allowed-users)", "%q is not a Slack user ID (U... or W...)", u)
		}
	}
	for _, g := range s.AllowedGroups {
		if !slackIDRE.MatchString(g) || g[0] != 'S' {
			bad("Slack allowed groups (--slack-allowed-groups)", "%q is not a Slack user-group ID (S...)", g)
		}
	}
}

var slackIDRE = regexp.MustCompile(`^[A-Z][A-Z0-9]{2,20}$`)
