// Package config is fixloop's one configuration struct, filled from (highest first) command-line
// flags, FIXLOOP_* environment variables, an optional YAML file (--config / FIXLOOP_CONFIG) and
// defaults, then validated with errors that name the setting to fix.
//
// Every setting is one row in the settings table below: add a field to Config and a row, and it gets
// a flag, an env var and a YAML key.
package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"
)

// Config is the whole configuration. YAML keys are the json tags.
type Config struct {
	Listen     string     `json:"listen"`
	ReadOnly   bool       `json:"readOnly"`
	Toolsets   []string   `json:"toolsets,omitempty"`
	StateDir   string     `json:"stateDir"`
	Log        Log        `json:"log"`
	Kube       Kube       `json:"kube"`
	Prometheus Prometheus `json:"prometheus"`
	LLM        LLM        `json:"llm"`
	GitHub     GitHub     `json:"github"`
	Fixer      Fixer      `json:"fixer"`

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
}

type LLM struct {
	Provider string `json:"provider,omitempty"` // empty = deterministic only
	Model    string `json:"model,omitempty"`
	BaseURL  string `json:"baseURL,omitempty"`
	APIKey   string `json:"apiKey,omitempty"` // env FIXLOOP_LLM_API_KEY (no flag: keeps it out of ps)
}

type GitHub struct {
	Token   string   `json:"token,omitempty"` // env FIXLOOP_GITHUB_TOKEN or GITHUB_TOKEN (no flag)
	BaseURL string   `json:"baseURL,omitempty"`
	Repo    string   `json:"repo,omitempty"` // owner/name
	Labels  []string `json:"labels,omitempty"`
}

type Fixer struct {
	AgentURL    string `json:"agentURL,omitempty"`    // A2A URL of the fixer agent
	OpenCodeURL string `json:"openCodeURL,omitempty"` // running `opencode serve`
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
)

// setting ties one Config field to its flag and env var.
type setting struct {
	flag  string // empty: no flag (secrets)
	env   []string
	kind  kind
	usage string
	ptr   func(c *Config) any // *string, *bool, *[]string, *Duration
}

var settings = []setting{
	{"listen", []string{"FIXLOOP_LISTEN"}, kString, "HTTP listen address of fixloop serve", func(c *Config) any { return &c.Listen }},
	{"read-only", []string{"FIXLOOP_READ_ONLY"}, kBool, "do not register tools that change anything (promote, abort, open issue)", func(c *Config) any { return &c.ReadOnly }},
	{"toolsets", []string{"FIXLOOP_TOOLSETS"}, kList, "comma-separated toolsets to enable (default all)", func(c *Config) any { return &c.Toolsets }},
	{"state-dir", []string{"FIXLOOP_STATE_DIR"}, kString, "directory for fixloop's state (SQLite, sessions)", func(c *Config) any { return &c.StateDir }},
	{"log-level", []string{"FIXLOOP_LOG_LEVEL"}, kString, "debug, info, warn or error", func(c *Config) any { return &c.Log.Level }},
	{"log-format", []string{"FIXLOOP_LOG_FORMAT"}, kString, "text or json (logs always go to stderr)", func(c *Config) any { return &c.Log.Format }},
	{"kubeconfig", []string{"FIXLOOP_KUBECONFIG"}, kString, "kubeconfig file (default: in-cluster, $KUBECONFIG, ~/.kube/config)", func(c *Config) any { return &c.Kube.Kubeconfig }},
	{"context", []string{"FIXLOOP_CONTEXT"}, kString, "kubeconfig context (default: current)", func(c *Config) any { return &c.Kube.Context }},
	{"kube-timeout", []string{"FIXLOOP_KUBE_TIMEOUT"}, kDuration, "timeout of one Kubernetes API request", func(c *Config) any { return &c.Kube.Timeout }},
	{"prometheus-url", []string{"FIXLOOP_PROMETHEUS_URL"}, kString, "Prometheus base URL, e.g. http://prometheus:9090", func(c *Config) any { return &c.Prometheus.URL }},
	{"prometheus-timeout", []string{"FIXLOOP_PROMETHEUS_TIMEOUT"}, kDuration, "timeout of one Prometheus query", func(c *Config) any { return &c.Prometheus.Timeout }},
	{"llm-provider", []string{"FIXLOOP_LLM_PROVIDER"}, kString, "LLM provider for explanations (empty = deterministic only)", func(c *Config) any { return &c.LLM.Provider }},
	{"llm-model", []string{"FIXLOOP_LLM_MODEL"}, kString, "LLM model name", func(c *Config) any { return &c.LLM.Model }},
	{"llm-base-url", []string{"FIXLOOP_LLM_BASE_URL"}, kString, "LLM API base URL", func(c *Config) any { return &c.LLM.BaseURL }},
	{"", []string{"FIXLOOP_LLM_API_KEY"}, kString, "LLM API key", func(c *Config) any { return &c.LLM.APIKey }},
	{"", []string{"FIXLOOP_GITHUB_TOKEN", "GITHUB_TOKEN"}, kString, "GitHub token", func(c *Config) any { return &c.GitHub.Token }},
	{"github-base-url", []string{"FIXLOOP_GITHUB_BASE_URL"}, kString, "GitHub API base URL (GitHub Enterprise)", func(c *Config) any { return &c.GitHub.BaseURL }},
	{"github-repo", []string{"FIXLOOP_GITHUB_REPO"}, kString, "repository for issues, owner/name", func(c *Config) any { return &c.GitHub.Repo }},
	{"github-labels", []string{"FIXLOOP_GITHUB_LABELS"}, kList, "comma-separated labels added to every issue", func(c *Config) any { return &c.GitHub.Labels }},
	{"fixer-agent-url", []string{"FIXLOOP_FIXER_AGENT_URL"}, kString, "A2A URL of the fixer agent", func(c *Config) any { return &c.Fixer.AgentURL }},
	{"opencode-url", []string{"FIXLOOP_OPENCODE_URL"}, kString, "URL of a running opencode serve (OpenCode server)", func(c *Config) any { return &c.Fixer.OpenCodeURL }},
}

// AddFlags registers --config and every setting's flag on fs (used by mcp, serve and any other
// subcommand that takes the common configuration).
func AddFlags(fs *pflag.FlagSet) {
	d := Default()
	fs.String("config", "", "YAML configuration file (env FIXLOOP_CONFIG)")
	for _, s := range settings {
		if s.flag == "" || fs.Lookup(s.flag) != nil {
			continue
		}
		usage := fmt.Sprintf("%s (env %s)", s.usage, s.env[0])
		switch p := s.ptr(d).(type) {
		case *string:
			fs.String(s.flag, *p, usage)
		case *bool:
			fs.Bool(s.flag, *p, usage)
		case *[]string:
			fs.String(s.flag, strings.Join(*p, ","), usage)
		case *Duration:
			fs.Duration(s.flag, p.Duration, usage)
		}
	}
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
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
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
	if c.GitHub.Repo != "" && !repoRE.MatchString(c.GitHub.Repo) {
		bad("GitHub repo (--github-repo / FIXLOOP_GITHUB_REPO)", "%q is not owner/name", c.GitHub.Repo)
	}
	if c.StateDir == "" {
		bad("state dir (--state-dir / FIXLOOP_STATE_DIR)", "must not be empty")
	}
	for name, q := range c.Prometheus.PromQL {
		if strings.TrimSpace(q) == "" {
			bad("prometheus.promql."+name, "empty query")
		}
	}
	return errors.Join(errs...)
}

// Logger builds the slog logger on w (stderr: stdout carries the MCP stdio protocol).
func (c *Config) Logger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Log.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Env lists the environment variables fixloop reads, for docs and --help.
func Env() []string {
	out := []string{"FIXLOOP_CONFIG"}
	for _, s := range settings {
		out = append(out, s.env...)
	}
	return out
}
