package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestPrecedenceFlagsOverEnvOverFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "fixloop.yaml")
	os.WriteFile(file, []byte(`
listen: 127.0.0.1:7000
readOnly: true
prometheus:
  url: http://file:9090
  timeout: 5s
  promql:
    cpu: sum(rate(my_cpu{ {{selector}} }[{{window}}]))
github:
  repo: acme/shop
  labels: [a, b]
log:
  level: debug
`), 0o644)
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddFlags(fs)
	if err := fs.Parse([]string{"--config", file, "--listen", "127.0.0.1:9000"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(fs, env(map[string]string{
		"FIXLOOP_LISTEN":         "127.0.0.1:8000",  // loses to the flag
		"FIXLOOP_PROMETHEUS_URL": "http://env:9090", // beats the file
		"GITHUB_TOKEN":           "tok",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9000" {
		t.Errorf("listen = %q, want flag value", c.Listen)
	}
	if c.Prometheus.URL != "http://env:9090" {
		t.Errorf("prometheus url = %q, want env value", c.Prometheus.URL)
	}
	if c.Prometheus.Timeout.Duration != 5*time.Second || !c.ReadOnly || c.GitHub.Repo != "acme/shop" || len(c.GitHub.Labels) != 2 || c.Log.Level != "debug" {
		t.Errorf("file values not applied: %+v", c)
	}
	if !strings.Contains(c.Prometheus.PromQL["cpu"], "my_cpu") {
		t.Errorf("promql override lost: %v", c.Prometheus.PromQL)
	}
	if c.GitHub.Token != "tok" {
		t.Errorf("GITHUB_TOKEN fallback not read")
	}
}

func TestDefaults(t *testing.T) {
	c, err := Load(nil, env(map[string]string{"XDG_DATA_HOME": ""}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || c.Log.Format != "text" || c.ReadOnly || !strings.Contains(c.StateDir, "fixloop") {
		t.Errorf("defaults: %+v", c)
	}
}

func TestValidationNamesTheSetting(t *testing.T) {
	cases := map[string][2]string{
		"FIXLOOP_LISTEN":         {"nonsense", "--listen"},
		"FIXLOOP_PROMETHEUS_URL": {"prometheus:9090", "--prometheus-url"},
		"FIXLOOP_LOG_FORMAT":     {"xml", "--log-format"},
		"FIXLOOP_GITHUB_REPO":    {"justaname", "--github-repo"},
		"FIXLOOP_KUBECONFIG":     {"/does/not/exist", "--kubeconfig"},
		"FIXLOOP_READ_ONLY":      {"maybe", "FIXLOOP_READ_ONLY"},
		"FIXLOOP_METRICS_SOURCE": {"kayenta", "--metrics-source"},
	}
	for k, v := range cases {
		_, err := Load(nil, env(map[string]string{k: v[0]}))
		if err == nil || !strings.Contains(err.Error(), v[1]) {
			t.Errorf("%s=%s: err = %v, want mention of %s", k, v[0], err, v[1])
		}
	}
}

func TestUnknownYAMLKeyRejected(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(file, []byte("prometheusURL: http://x\n"), 0o644)
	_, err := Load(nil, env(map[string]string{"FIXLOOP_CONFIG": file}))
	if err == nil || !strings.Contains(err.Error(), "prometheusURL") {
		t.Fatalf("err = %v, want unknown field named", err)
	}
}

func TestAliasesAndResolvedLLM(t *testing.T) {
	cases := []struct {
		name           string
		env            map[string]string
		provider, key  string
		githubBase     string
		wantMaxPrompts int
	}{
		{"nothing: deterministic", map[string]string{}, "none", "", "", 0},
		{"gemini key alone picks gemini", map[string]string{"GOOGLE_API_KEY": "g"}, "gemini", "g", "", 0},
		{"GEMINI_API_KEY wins over GOOGLE_API_KEY", map[string]string{"GEMINI_API_KEY": "a", "GOOGLE_API_KEY": "g"}, "gemini", "a", "", 0},
		{"base URL picks openai with its key", map[string]string{"FIXLOOP_LLM_BASE_URL": "http://llm:1/v1", "OPENAI_API_KEY": "o", "GEMINI_API_KEY": "a"}, "openai", "o", "", 0},
		{"FIXLOOP_LLM is the old provider name", map[string]string{"FIXLOOP_LLM": "Gemini", "GEMINI_API_KEY": "a"}, "gemini", "a", "", 0},
		{"explicit none beats a key", map[string]string{"FIXLOOP_LLM_PROVIDER": "none", "GEMINI_API_KEY": "a"}, "none", "", "", 0},
		{"FIXLOOP_LLM_API_KEY beats the provider's", map[string]string{"FIXLOOP_LLM_API_KEY": "f", "GEMINI_API_KEY": "a"}, "gemini", "f", "", 0},
		{"FIXLOOP_GITHUB_URL alias", map[string]string{"FIXLOOP_GITHUB_URL": "http://sink:1/"}, "none", "", "http://sink:1/", 0},
		{"prompt budget", map[string]string{"FIXLOOP_LLM_MAX_PROMPT_TOKENS": "1234"}, "none", "", "", 1234},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(nil, env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if c.LLM.Provider != tc.provider || c.LLM.APIKey != tc.key || c.GitHub.BaseURL != tc.githubBase || c.LLM.MaxPromptTokens != tc.wantMaxPrompts {
				t.Errorf("llm %+v github %q", c.LLM, c.GitHub.BaseURL)
			}
		})
	}
}

func TestFixerSettings(t *testing.T) {
	c, err := Load(nil, env(map[string]string{"FIXLOOP_STATE_DIR": "/st", "FIXLOOP_FIXER_TIMEOUT": "5m", "FIXLOOP_FIXER_CONCURRENCY": "3",
		"FIXLOOP_OPENCODE_MODEL": "fixloop/coder", "FIXLOOP_A2A_TOKEN": "t", "FIXLOOP_PUBLIC_URL": "https://fixloop.example"}))
	if err != nil {
		t.Fatal(err)
	}
	f := c.Fixer
	if f.WorkDir != "/st/work" || f.Timeout.Duration != 5*time.Minute || f.Concurrency != 3 || f.RetryLimit != 8 || f.OpenCodeModel != "fixloop/coder" {
		t.Errorf("fixer = %+v", f)
	}
	if c.A2A.Token != "t" || c.PublicURL != "https://fixloop.example" {
		t.Errorf("a2a token %q public URL %q", c.A2A.Token, c.PublicURL)
	}
	bad := map[string][2]string{
		"FIXLOOP_FIXER_TIMEOUT":         {"0s", "--fixer-timeout"},
		"FIXLOOP_FIXER_CONCURRENCY":     {"many", "FIXLOOP_FIXER_CONCURRENCY"},
		"FIXLOOP_FIXER_RETRY_LIMIT":     {"0", "--fixer-retry-limit"},
		"FIXLOOP_OPENCODE_MODEL":        {"justamodel", "--opencode-model"},
		"FIXLOOP_LLM_PROVIDER":          {"claude", "--llm-provider"},
		"FIXLOOP_LLM_MAX_PROMPT_TOKENS": {"-1", "--llm-max-prompt-tokens"},
		"FIXLOOP_PUBLIC_URL":            {"fixloop:8080", "--public-url"},
	}
	for k, v := range bad {
		if _, err := Load(nil, env(map[string]string{k: v[0]})); err == nil || !strings.Contains(err.Error(), v[1]) {
			t.Errorf("%s=%s: err = %v, want mention of %s", k, v[0], err, v[1])
		}
	}
	if _, err := Load(nil, env(map[string]string{"FIXLOOP_LLM_PROVIDER": "gemini"})); err == nil || !strings.Contains(err.Error(), "GEMINI_API_KEY") {
		t.Errorf("gemini without a key: err = %v", err)
	}
}

func TestYAMLMasksSecretsAndReadsBack(t *testing.T) {
	c, err := Load(nil, env(map[string]string{"FIXLOOP_GITHUB_TOKEN": "ghp_secret", "GEMINI_API_KEY": "gem-secret", "FIXLOOP_A2A_TOKEN": "a2a-secret",
		"FIXLOOP_GITHUB_REPO": "acme/shop", "FIXLOOP_FIXER_TIMEOUT": "7m"}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, secret := range []string{"ghp_secret", "gem-secret", "a2a-secret"} {
		if strings.Contains(out, secret) {
			t.Errorf("secret %s printed:\n%s", secret, out)
		}
	}
	if c.GitHub.Token != "ghp_secret" {
		t.Error("Masked changed the configuration itself")
	}
	file := filepath.Join(t.TempDir(), "back.yaml")
	os.WriteFile(file, b, 0o600)
	back, err := Load(nil, env(map[string]string{"FIXLOOP_CONFIG": file}))
	if err != nil {
		t.Fatalf("printed configuration does not read back: %v\n%s", err, out)
	}
	if back.GitHub.Repo != "acme/shop" || back.Fixer.Timeout.Duration != 7*time.Minute || back.GitHub.Token != masked {
		t.Errorf("read back %+v", back)
	}
}

func TestEverySettingHasAFileKeyAndEnv(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Settings() {
		if s.Key == "" || len(s.Env) == 0 || s.Help == "" {
			t.Errorf("setting %+v lacks a file key, env var or help", s)
		}
		if seen[s.Key] {
			t.Errorf("two settings write %s", s.Key)
		}
		seen[s.Key] = true
	}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddFlags(fs, "llm-")
	if fs.Lookup("llm-provider") == nil || fs.Lookup("listen") != nil || fs.Lookup("config") == nil {
		t.Error("AddFlags with a prefix: want only --config and the llm- flags")
	}
}

// --store selects shared PostgreSQL state; anything else is refused, and its password never prints.
func TestStoreURLValidatedAndPasswordMasked(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddFlags(fs)
	if err := fs.Parse([]string{"--store", "postgres://fixloop:pg-secret@db:5432/fixloop?sslmode=require"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(fs, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Store != "postgres://fixloop:pg-secret@db:5432/fixloop?sslmode=require" {
		t.Fatalf("Store = %q", c.Store)
	}
	b, _ := c.YAML()
	if strings.Contains(string(b), "pg-secret") || !strings.Contains(string(b), "db:5432/fixloop") {
		t.Errorf("printed store:\n%s", b)
	}
	q, _ := Load(nil, env(map[string]string{"FIXLOOP_STORE": "postgres://db/fixloop?password=pg-secret"}))
	if qb, _ := q.YAML(); strings.Contains(string(qb), "pg-secret") {
		t.Errorf("printed store with password parameter:\n%s", qb)
	}
	if _, err := Load(nil, env(map[string]string{"FIXLOOP_STORE": "mysql://db/x"})); err == nil || !strings.Contains(err.Error(), "FIXLOOP_STORE") {
		t.Errorf("mysql store: err = %v", err)
	}
	if d, _ := Load(nil, env(nil)); d.Store != "" {
		t.Errorf("default store %q, want empty (SQLite in the state dir)", d.Store)
	}
}
