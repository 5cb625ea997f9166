// Package config is fixloop's one configuration struct, filled from (highest first) command-line
// flags, FIXLOOP_* environment variables, an optional YAML file (--config / FIXLOOP_CONFIG) and
// defaults, then validated with errors that name the setting to fix.
//
// Every setting is one row in the settings table below: add a field to Config and a row, and it gets
// a flag, an env var and a YAML key.
package config

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/fixloop/fixloop/internal/telemetry"
)

// Config is the whole configuration. YAML keys are the json tags.
type Config struct {
	Listen   string   `json:"listen"`
	ReadOnly bool     `json:"readOnly"`
	Toolsets []string `json:"toolsets,omitempty"`
	StateDir string   `json:"stateDir"`
	// Store selects shared state: postgres://… (several replicas on one database); empty: SQLite in
	// StateDir.
	Store      string     `json:"store,omitempty"`
	Log        Log        `json:"log"`
	Kube       Kube       `json:"kube"`
	Prometheus Prometheus `json:"prometheus"`
	LLM        LLM        `json:"llm"`
	GitHub     GitHub     `json:"github"`
	Slack      Slack      `json:"slack"`
	Fixer      Fixer      `json:"fixer"`
	// PublicURL is the externally reachable base URL of fixloop serve (agent cards, links); empty:
	// derived from each request's Host header.
	PublicURL string    `json:"publicURL,omitempty"`
	A2A       A2A       `json:"a2a"`
	Monitor   Monitor   `json:"monitor"`
	Handoff   Handoff   `json:"handoff"`
	Auth      Auth      `json:"auth"`
	TLS       TLS       `json:"tls"`
	Limits    Limits    `json:"limits"`
	Telemetry Telemetry `json:"telemetry"`

	// File is the YAML file that was read, if any.
	File string `json:"-"`
}

type Log struct {
	Level  string `json:"level"`  // debug | info | warn | error
	Format string `json:"format"` // text | json
}

type Kube struct {
	Kubeconfig string   `json:"kubeconfig,omitempty"` // empty: in-cluster, $KUBECONFIG, ~/.kube/config
	Context    string   `json:"context,omitempty"`
	Timeout    Duration `json:"timeout"`
}

type Prometheus struct {
	URL     string   `json:"url,omitempty"`
	Timeout Duration `json:"timeout"`
	// PromQL overrides get_metrics queries by metric name (cpu, memory, requests, ...). Placeholders:
	// {{selector}} (label matchers for the pods), {{window}} (rate window).
	PromQL map[string]string `json:"promql,omitempty"`
	// Source names the HTTP metrics source (a row of prom.Sources) for every workload instead of
	// discovering it; a Rollout's fixloop.dev/metrics-source annotation still wins.
	Source string `json:"source,omitempty"`
}

// LLM is the one model configuration: the judge's explainer and the model the fixer gives OpenCode.
type LLM struct {
	// Provider is none, gemini or openai (any OpenAI-compatible endpoint). Load resolves an empty one:
	// openai when BaseURL is set, gemini when a Gemini key is set, else none (deterministic only).
	Provider string `json:"provider,omitempty"`
	Model    string `json:"model,omitempty"`
	BaseURL  string `json:"baseURL,omitempty"`
	// APIKey (no flag: keeps it out of ps). Load fills an empty one from the provider's own variable.
	APIKey          string `json:"apiKey,omitempty"`
	GeminiAPIKey    string `json:"geminiAPIKey,omitempty"` // GEMINI_API_KEY or GOOGLE_API_KEY
	OpenAIAPIKey    string `json:"openAIAPIKey,omitempty"` // OPENAI_API_KEY
	MaxPromptTokens int    `json:"maxPromptTokens,omitempty"`
}

// Slack configures the Slack bridge: off unless a bot token and a signing secret (HTTP mode) or an
// app-level token (Socket Mode) are set.
type Slack struct {
	BotToken      string `json:"botToken,omitempty"`      // env FIXLOOP_SLACK_BOT_TOKEN or SLACK_BOT_TOKEN (no flag)
	SigningSecret string `json:"signingSecret,omitempty"` // env FIXLOOP_SLACK_SIGNING_SECRET or SLACK_SIGNING_SECRET (no flag)
	AppToken      string `json:"appToken,omitempty"`      // xapp-...: Socket Mode (env FIXLOOP_SLACK_APP_TOKEN or SLACK_APP_TOKEN, no flag)
	APIURL        string `json:"apiURL,omitempty"`        // Slack Web API base URL (default https://slack.com/api/)
	// AllowedUsers and AllowedGroups (Slack user and user-group IDs) may confirm writes; empty: nobody.
	AllowedUsers  []string `json:"allowedUsers,omitempty"`
	AllowedGroups []string `json:"allowedGroups,omitempty"`
	// NotifyChannel receives aborts, inconclusive verdicts, issues, monitor actions and fixes (off when empty).
	NotifyChannel string `json:"notifyChannel,omitempty"`
}

type GitHub struct {
	Token     string   `json:"token,omitempty"` // env FIXLOOP_GITHUB_TOKEN or GITHUB_TOKEN (no flag)
	BaseURL   string   `json:"baseURL,omitempty"`
	Repo      string   `json:"repo,omitempty"` // owner/name
	Labels    []string `json:"labels,omitempty"`
	Assignees []string `json:"assignees,omitempty"`
}

type Fixer struct {
	AgentURL    string `json:"agentURL,omitempty"`    // A2A URL of the fixer agent
	OpenCodeURL string `json:"openCodeURL,omitempty"` // running `opencode serve`
	// OpenCodeModel is provider/model as OpenCode names it; empty: the server's default.
	OpenCodeModel string   `json:"openCodeModel,omitempty"`
	WorkDir       string   `json:"workDir,omitempty"` // default <stateDir>/work
	Timeout       Duration `json:"timeout"`
	Concurrency   int      `json:"concurrency"`
	RetryLimit    int      `json:"retryLimit"`
	// Repos the fixer may clone, change and open pull requests on: owner/name globs ("acme/*").
	// Empty refuses every fix request.
	Repos []string `json:"repos,omitempty"`
}

// A2A configures the agent endpoints.
type A2A struct {
	// Token is a static bearer token accepted with scopes read, issue and fix (prefer tokens in the auth
	// file), and what triage sends to a fixer agent in another process. No flag.
	Token string `json:"token,omitempty"`
}

// Duration reads "30s" style strings in YAML.
type Duration struct{ time.Duration }

func (d Duration) MarshalJSON() ([]byte, error) { return strconv.AppendQuote(nil, d.String()), nil }
func (d *Duration) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return fmt.Errorf("duration must be a string like \"30s\", got %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// Default is the configuration with nothing set.
func Default() *Config {
	return &Config{
		Listen:     "127.0.0.1:8080",
		StateDir:   defaultStateDir(),
		Log:        Log{Level: "info", Format: "text"},
		Kube:       Kube{Timeout: Duration{30 * time.Second}},
		Prometheus: Prometheus{Timeout: Duration{30 * time.Second}},
		Fixer:      Fixer{Timeout: Duration{20 * time.Minute}, Concurrency: 2, RetryLimit: 8},
		Monitor:    defaultMonitor(),
		Handoff:    defaultHandoff(),
		Auth:       defaultAuth(),
		Limits:     defaultLimits(),
	}
}

func defaultStateDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "fixloop")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "fixloop")
	}
	return filepath.Join(os.TempDir(), "fixloop")
}

type kind int

const (
	kString kind = iota
	kBool
	kList
	kDuration
	kInt
)

// setting ties one Config field to its flag and env vars (first set wins). A row without a flag is a
// secret: it stays out of ps and `fixloop config` masks it.
type setting struct {
	flag  string
	env   []string
	kind  kind
	usage string
	ptr   func(c *Config) any // *string, *bool, *[]string, *Duration, *int
}

var settings = []setting{
	{"listen", []string{"FIXLOOP_LISTEN"}, kString, "HTTP listen address of fixloop serve", func(c *Config) any { return &c.Listen }},
	{"read-only", []string{"FIXLOOP_READ_ONLY"}, kBool, "do not register tools that change anything (promote, abort, open issue)", func(c *Config) any { return &c.ReadOnly }},
	{"toolsets", []string{"FIXLOOP_TOOLSETS"}, kList, "comma-separated toolsets to enable (default all)", func(c *Config) any { return &c.Toolsets }},
	{"state-dir", []string{"FIXLOOP_STATE_DIR"}, kString, "directory for fixloop's state (SQLite, sessions)", func(c *Config) any { return &c.StateDir }},
	{"store", []string{"FIXLOOP_STORE"}, kString, "postgres://user@host:5432/db?sslmode=require to share state between replicas (default: SQLite in the state dir; keep the password in FIXLOOP_STORE, the config file or ~/.pgpass, not on the command line)", func(c *Config) any { return &c.Store }},
	{"log-level", []string{"FIXLOOP_LOG_LEVEL"}, kString, "debug, info, warn or error", func(c *Config) any { return &c.Log.Level }},
	{"log-format", []string{"FIXLOOP_LOG_FORMAT"}, kString, "text or json (logs always go to stderr)", func(c *Config) any { return &c.Log.Format }},
	{"kubeconfig", []string{"FIXLOOP_KUBECONFIG"}, kString, "kubeconfig file (default: in-cluster, $KUBECONFIG, ~/.kube/config)", func(c *Config) any { return &c.Kube.Kubeconfig }},
	{"context", []string{"FIXLOOP_CONTEXT"}, kString, "kubeconfig context (default: current)", func(c *Config) any { return &c.Kube.Context }},
	{"kube-timeout", []string{"FIXLOOP_KUBE_TIMEOUT"}, kDuration, "timeout of one Kubernetes API request", func(c *Config) any { return &c.Kube.Timeout }},
	{"prometheus-url", []string{"FIXLOOP_PROMETHEUS_URL"}, kString, "Prometheus base URL, e.g. http://prometheus:9090", func(c *Config) any { return &c.Prometheus.URL }},
	{"prometheus-timeout", []string{"FIXLOOP_PROMETHEUS_TIMEOUT"}, kDuration, "timeout of one Prometheus query", func(c *Config) any { return &c.Prometheus.Timeout }},
	{"metrics-source", []string{"FIXLOOP_METRICS_SOURCE"}, kString, "HTTP metrics source of every workload (istio, linkerd, ingress-nginx, ...: `fixloop metrics sources` lists them) instead of discovering it; a rollout's fixloop.dev/metrics-source annotation wins", func(c *Config) any { return &c.Prometheus.Source }},
	{"llm-provider", []string{"FIXLOOP_LLM_PROVIDER", "FIXLOOP_LLM"}, kString, "none, gemini or openai (any OpenAI-compatible server); empty: openai when --llm-base-url is set, gemini when GEMINI_API_KEY is, else none", func(c *Config) any { return &c.LLM.Provider }},
	{"llm-model", []string{"FIXLOOP_LLM_MODEL"}, kString, "LLM model name", func(c *Config) any { return &c.LLM.Model }},
	{"llm-base-url", []string{"FIXLOOP_LLM_BASE_URL"}, kString, "LLM API base URL (OpenAI-compatible server such as Ollama or vLLM)", func(c *Config) any { return &c.LLM.BaseURL }},
	{"llm-max-prompt-tokens", []string{"FIXLOOP_LLM_MAX_PROMPT_TOKENS"}, kInt, "token budget of one LLM prompt (0: 8000)", func(c *Config) any { return &c.LLM.MaxPromptTokens }},
	{"", []string{"FIXLOOP_LLM_API_KEY"}, kString, "LLM API key (default: the provider's own variable below)", func(c *Config) any { return &c.LLM.APIKey }},
	{"", []string{"GEMINI_API_KEY", "GOOGLE_API_KEY"}, kString, "Gemini API key", func(c *Config) any { return &c.LLM.GeminiAPIKey }},
	{"", []string{"OPENAI_API_KEY"}, kString, "OpenAI API key", func(c *Config) any { return &c.LLM.OpenAIAPIKey }},
	{"", []string{"FIXLOOP_GITHUB_TOKEN", "GITHUB_TOKEN"}, kString, "GitHub token", func(c *Config) any { return &c.GitHub.Token }},
	{"github-base-url", []string{"FIXLOOP_GITHUB_BASE_URL", "FIXLOOP_GITHUB_URL", "GITHUB_API_URL"}, kString, "GitHub API base URL (GitHub Enterprise, or the local sink of fixloop github-sink)", func(c *Config) any { return &c.GitHub.BaseURL }},
	{"github-repo", []string{"FIXLOOP_GITHUB_REPO"}, kString, "repository for issues, owner/name", func(c *Config) any { return &c.GitHub.Repo }},
	{"github-labels", []string{"FIXLOOP_GITHUB_LABELS"}, kList, "comma-separated labels added to every issue", func(c *Config) any { return &c.GitHub.Labels }},
	{"github-assignees", []string{"FIXLOOP_GITHUB_ASSIGNEES"}, kList, "comma-separated GitHub users assigned to every issue", func(c *Config) any { return &c.GitHub.Assignees }},
	{"fixer-agent-url", []string{"FIXLOOP_FIXER_AGENT_URL"}, kString, "A2A URL of the fixer agent", func(c *Config) any { return &c.Fixer.AgentURL }},
	{"opencode-url", []string{"FIXLOOP_OPENCODE_URL"}, kString, "URL of a running opencode serve (OpenCode server)", func(c *Config) any { return &c.Fixer.OpenCodeURL }},
	{"opencode-model", []string{"FIXLOOP_OPENCODE_MODEL"}, kString, "OpenCode model as provider/model (default: the server's)", func(c *Config) any { return &c.Fixer.OpenCodeModel }},
	{"fixer-workdir", []string{"FIXLOOP_FIXER_WORKDIR"}, kString, "where the fixer clones repositories (default <state-dir>/work)", func(c *Config) any { return &c.Fixer.WorkDir }},
	{"fixer-timeout", []string{"FIXLOOP_FIXER_TIMEOUT"}, kDuration, "abort a fixer's OpenCode session turn after this long", func(c *Config) any { return &c.Fixer.Timeout }},
	{"fixer-concurrency", []string{"FIXLOOP_FIXER_CONCURRENCY"}, kInt, "fixes run at once; more wait their turn", func(c *Config) any { return &c.Fixer.Concurrency }},
	{"fixer-retry-limit", []string{"FIXLOOP_FIXER_RETRY_LIMIT"}, kInt, "abort a session after this many failed LLM calls in a row", func(c *Config) any { return &c.Fixer.RetryLimit }},
	{"public-url", []string{"FIXLOOP_PUBLIC_URL"}, kString, "externally reachable base URL of fixloop serve (default: from each request's Host)", func(c *Config) any { return &c.PublicURL }},
	{"", []string{"FIXLOOP_SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN"}, kString, "Slack bot token (xoxb-...): with the signing secret, turns on /slack/commands", func(c *Config) any { return &c.Slack.BotToken }},
	{"", []string{"FIXLOOP_SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET"}, kString, "Slack app signing secret: every Slack request is verified with it", func(c *Config) any { return &c.Slack.SigningSecret }},
	{"", []string{"FIXLOOP_SLACK_APP_TOKEN", "SLACK_APP_TOKEN"}, kString, "Slack app-level token (xapp-...): with the bot token, Socket Mode (no public URL needed)", func(c *Config) any { return &c.Slack.AppToken }},
	{"slack-allowed-users", []string{"FIXLOOP_SLACK_ALLOWED_USERS"}, kList, "Slack user IDs (U...) who may confirm promote, abort and fix (default nobody)", func(c *Config) any { return &c.Slack.AllowedUsers }},
	{"slack-allowed-groups", []string{"FIXLOOP_SLACK_ALLOWED_GROUPS"}, kList, "Slack user-group IDs (S...) whose members may confirm promote, abort and fix", func(c *Config) any { return &c.Slack.AllowedGroups }},
	{"slack-api-url", []string{"FIXLOOP_SLACK_API_URL"}, kString, "Slack Web API base URL (default https://slack.com/api/)", func(c *Config) any { return &c.Slack.APIURL }},
	{"slack-notify-channel", []string{"FIXLOOP_SLACK_NOTIFY_CHANNEL"}, kString, "Slack channel ID (C…) that gets aborts, inconclusive verdicts, opened issues, monitor actions and fix pull requests with the report link and buttons (needs the bot token)", func(c *Config) any { return &c.Slack.NotifyChannel }},
	{"", []string{"FIXLOOP_A2A_TOKEN"}, kString, "bearer token required on A2A calls (and sent to the fixer)", func(c *Config) any { return &c.A2A.Token }},
	{"fixer-repos", []string{"FIXLOOP_FIXER_REPOS"}, kList, "repositories the fixer may change: comma-separated owner/name globs (acme/*); empty refuses every fix", func(c *Config) any { return &c.Fixer.Repos }},
}

// AddFlags registers --config and the settings' flags on fs (used by mcp, serve and any other
// subcommand that takes the common configuration). With prefixes, only flags whose name starts with
// one of them are added (a subcommand that needs a few settings, e.g. "llm-"); the environment and
// the file still set every setting.
func AddFlags(fs *pflag.FlagSet, prefixes ...string) {
	d := Default()
	if fs.Lookup("config") == nil {
		fs.String("config", "", "YAML configuration file (env FIXLOOP_CONFIG)")
	}
	for _, s := range settings {
		if s.flag == "" || fs.Lookup(s.flag) != nil || !hasPrefix(s.flag, prefixes) {
			continue
		}
		usage := fmt.Sprintf("%s (env %s)", s.usage, strings.Join(s.env, " or "))
		switch p := s.ptr(d).(type) {
		case *string:
			fs.String(s.flag, *p, usage)
		case *bool:
			fs.Bool(s.flag, *p, usage)
		case *[]string:
			fs.String(s.flag, strings.Join(*p, ","), usage)
		case *Duration:
			fs.Duration(s.flag, p.Duration, usage)
		case *int:
			fs.Int(s.flag, *p, usage)
		}
	}
}

func hasPrefix(flag string, prefixes []string) bool {
	if len(prefixes) == 0 {
		return true
	}
	for _, p := range prefixes {
		if strings.HasPrefix(flag, p) {
			return true
		}
	}
	return false
}

// Load builds the configuration: defaults, then the YAML file, then env, then flags that were set.
// fs may be nil (env and file only). getenv nil means os.Getenv.
func Load(fs *pflag.FlagSet, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := Default()
	file := getenv("FIXLOOP_CONFIG")
	if fs != nil {
		if f := fs.Lookup("config"); f != nil && f.Changed {
			file = f.Value.String()
		}
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("config file: %w (fix --config / FIXLOOP_CONFIG)", err)
		}
		if err := yaml.UnmarshalStrict(data, c); err != nil {
			return nil, fmt.Errorf("config file %s: %w", file, err)
		}
		c.File = file
	}
	for _, s := range settings {
		for _, e := range s.env {
			if v, ok := lookup(getenv, e); ok {
				if err := set(s, c, v); err != nil {
					return nil, fmt.Errorf("env %s=%q: %w", e, v, err)
				}
				break
			}
		}
		if fs == nil || s.flag == "" {
			continue
		}
		if f := fs.Lookup(s.flag); f != nil && f.Changed {
			if err := set(s, c, f.Value.String()); err != nil {
				return nil, fmt.Errorf("--%s=%q: %w", s.flag, f.Value.String(), err)
			}
		}
	}
	c.resolve()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// resolve fills the settings whose default depends on others, so everything downstream (and
// `fixloop config`) sees the effective value.
func (c *Config) resolve() {
	l := &c.LLM
	l.Provider = strings.ToLower(l.Provider)
	if l.Provider == "" {
		switch {
		case l.BaseURL != "":
			l.Provider = "openai"
		case l.GeminiAPIKey != "":
			l.Provider = "gemini"
		default:
			l.Provider = "none"
		}
	}
	if l.APIKey == "" {
		switch l.Provider {
		case "gemini":
			l.APIKey = l.GeminiAPIKey
		case "openai":
			l.APIKey = l.OpenAIAPIKey
		}
	}
	if c.Fixer.WorkDir == "" && c.StateDir != "" {
		c.Fixer.WorkDir = filepath.Join(c.StateDir, "work")
	}
}

func lookup(getenv func(string) string, k string) (string, bool) {
	v := getenv(k)
	return v, v != ""
}

func set(s setting, c *Config, v string) error {
	switch p := s.ptr(c).(type) {
	case *string:
		*p = strings.TrimSpace(v)
	case *bool:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		*p = b
	case *[]string:
		*p = splitList(v)
	case *Duration:
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("want a duration like 30s: %w", err)
		}
		p.Duration = d
	case *int:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("want a whole number")
		}
		*p = n
	}
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Logger builds the slog logger on w (stderr: stdout carries the MCP stdio protocol).
func (c *Config) Logger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Log.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	// Records logged with a traced context carry trace_id and span_id.
	if c.Log.Format == "json" {
		return slog.New(telemetry.LogHandler(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(telemetry.LogHandler(slog.NewTextHandler(w, opts)))
}

// Env lists the environment variables fixloop reads, for docs and --help.
func Env() []string {
	out := []string{"FIXLOOP_CONFIG"}
	for _, s := range settings {
		out = append(out, s.env...)
	}
	return out
}
