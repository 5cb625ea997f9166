package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"sigs.k8s.io/yaml"

	"github.com/fixloop/fixloop/internal/telemetry"
)

const monitoringDir = "../../manifests/monitoring"

// The PrometheusRule's groups pass `promtool check rules` and its unit tests (testdata/alerts_test.yaml:
// alerts fire on the series fixloop exports, and stay quiet when all is well).
func TestPrometheusRuleChecksAndFires(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: install Debian's prometheus package (.ci/run does)")
	}
	rules := ruleGroupsFile(t)
	if out, err := exec.Command(promtool, "check", "rules", rules).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	tests, err := os.ReadFile("testdata/alerts_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	testFile := filepath.Join(filepath.Dir(rules), "alerts_test.yaml")
	if err := os.WriteFile(testFile, tests, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "test", "rules", testFile).CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

// ruleGroupsFile writes the PrometheusRule's spec (a plain Prometheus rule file) to rules.yaml in a
// temporary directory.
func ruleGroupsFile(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(monitoringDir, "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var pr struct {
		Kind string         `json:"kind"`
		Spec map[string]any `json:"spec"`
	}
	if err := yaml.Unmarshal(b, &pr); err != nil || pr.Kind != "PrometheusRule" {
		t.Fatalf("prometheusrule.yaml: kind %q, %v", pr.Kind, err)
	}
	out, err := yaml.Marshal(pr.Spec)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Every fixloop_* series the alerts and the dashboard query is one `fixloop serve` exports: a renamed
// metric must not leave a dashboard panel empty or an alert silent.
func TestMonitoringQueriesNameExportedSeries(t *testing.T) {
	known := exportedNames(t)
	var queries []string
	rules, err := os.ReadFile(filepath.Join(monitoringDir, "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	queries = append(queries, string(rules))
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	b, err := os.ReadFile(filepath.Join(monitoringDir, "fixloop-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil || len(dash.Panels) == 0 {
		t.Fatalf("dashboard JSON: %v (%d panels)", err, len(dash.Panels))
	}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			queries = append(queries, tg.Expr)
		}
	}
	name := regexp.MustCompile(`\b(fixloop_[a-z_]+|process_[a-z_]+|go_[a-z_]+)\b`)
	for _, q := range queries {
		for _, n := range name.FindAllString(q, -1) {
			base := n
			for _, suffix := range []string{"_bucket", "_count", "_sum"} {
				if b, ok := strings.CutSuffix(n, suffix); ok && known[b] {
					base = b
				}
			}
			if !known[base] {
				t.Errorf("%s is queried but fixloop serve exports no such series", n)
			}
		}
	}
}

// exportedNames lists the metric families serve registers, from the collectors' descriptions (a vector
// with no samples yet still describes itself).
func exportedNames(t *testing.T) map[string]bool {
	reg := &recordingRegistry{Registerer: prometheus.NewRegistry()}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), leaderCollector{})
	newServerMetrics(reg)
	newHTTPRequests(reg)
	if err := telemetry.Register(reg); err != nil {
		t.Fatal(err)
	}
	ch := make(chan *prometheus.Desc, 1000)
	for _, c := range reg.collectors {
		c.Describe(ch)
	}
	close(ch)
	known := map[string]bool{}
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range ch {
		if m := fq.FindStringSubmatch(d.String()); m != nil {
			known[m[1]] = true
		}
	}
	if !known["fixloop_verdicts_total"] || !known["go_goroutines"] {
		t.Fatalf("descriptions not read: %v", known)
	}
	return known
}

// recordingRegistry remembers what was registered.
type recordingRegistry struct {
	prometheus.Registerer
	collectors []prometheus.Collector
}

func (r *recordingRegistry) Register(c prometheus.Collector) error {
	r.collectors = append(r.collectors, c)
	return r.Registerer.Register(c)
}

func (r *recordingRegistry) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}
