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
