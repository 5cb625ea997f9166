package prom_test

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/fixloop/fixloop/internal/prom"
	"github.com/fixloop/fixloop/internal/testenv"
	"github.com/fixloop/fixloop/internal/testenv/metricshapes"
)

// scrapeTarget is one exporter and the labels a cluster's scrape would give it.
type scrapeTarget struct {
	url    string
	labels map[string]string
}

// startPrometheus runs the real Prometheus scraping the targets every second. A missing binary fails.
func startPrometheus(t *testing.T, targets []scrapeTarget) *prom.HTTPClient {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not on PATH (apt-get install --no-install-recommends prometheus): %v", err)
	}
	dir := t.TempDir()
	var sc strings.Builder
	sc.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n- job_name: shapes\n  static_configs:\n")
	for _, tg := range targets {
		fmt.Fprintf(&sc, "  - targets: [%q]\n    labels:\n", strings.TrimPrefix(tg.url, "http://"))
		for k, v := range tg.labels {
			fmt.Fprintf(&sc, "      %s: %q\n", k, v)
		}
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(sc.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	logf, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c, err := prom.New("http://"+addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "prometheus ready", func() (bool, string) {
		r, err := http.Get("http://" + addr + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		r.Body.Close()
		return r.StatusCode == 200, r.Status
	})
	return c
}

// waitFor is testenv.WaitFor polling every 250 ms.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	testenv.WaitFor(t, what, 250*time.Millisecond, limit, cond)
}

// sideSetup is one shape published for a stable and a canary side of rollout web in namespace ns.
type sideSetup struct {
	shape  string
	sides  []prom.Side
	canary *metricshapes.Handler
}

// publish starts exporters of a shape for both sides: per pod for app and mesh shapes (the scrape labels
// them with the pod), from one ingress controller pod for proxies in front of the Services.
func publish(t *testing.T, shape, ns string, canaryErr float64) (sideSetup, []scrapeTarget) {
	t.Helper()
	src, ok := prom.SourceNamed(shape)
	if !ok {
		t.Fatalf("shape %s has no source in the table", shape)
	}
	set := sideSetup{shape: shape}
	var targets []scrapeTarget
	for i, role := range []string{"stable", "canary"} {
		pod := fmt.Sprintf("web-%s%d-7f9c", role[:3], i)
		svc := "web-" + role
		ing := "web"
		if role == "canary" {
			ing = "web-web-canary"
		}
		tr := metricshapes.Traffic{RPS: 50, Latency: 30 * time.Millisecond}
		if role == "canary" {
			tr.ErrorShare = canaryErr
		}
		h, err := metricshapes.NewHandler(shape, metricshapes.Target{Namespace: ns, Pod: pod, Service: svc, Ingress: ing}, tr)
		if err != nil {
			t.Fatal(err)
		}
		if role == "canary" {
			set.canary = h
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		labels := map[string]string{"namespace": ns, "pod": pod}
		if src.SideBy == prom.ByService { // scraped from the proxy's own pod
			labels = map[string]string{"namespace": "ingress-nginx", "pod": "proxy-" + shape + "-" + role}
		}
		targets = append(targets, scrapeTarget{url: srv.URL, labels: labels})
		set.sides = append(set.sides, prom.Side{Namespace: ns, Pods: []string{pod}, Services: []string{svc}})
	}
	return set, targets
}

func render(tmpl, sel string) string {
	return strings.NewReplacer("{{sel}}", sel, "{{rate}}", "15s", "{{by}}", "", "{{by_le}}", "le").Replace(tmpl)
}

func instant(t *testing.T, c prom.Client, q string) (float64, bool) {
	v, _, err := c.Query(context.Background(), q, time.Now())
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	vec, _ := v.(model.Vector)
	if len(vec) != 1 || math.IsNaN(float64(vec[0].Value)) {
		return 0, false
	}
	return float64(vec[0].Value), true
}

// Every documented shape is discovered without configuration, and its queries measure what was published:
// the canary's 20% 5xx share, the stable's none, the 30 ms latency.
func TestDiscoverEveryShapeOnRealPrometheus(t *testing.T) {
	var sets []sideSetup
	var targets []scrapeTarget
	for _, shape := range metricshapes.Names() {
		set, tg := publish(t, shape, "ns-"+shape, 0.2)
		sets = append(sets, set)
		targets = append(targets, tg...)
	}
	// An app with no HTTP metrics at all.
	bare := []prom.Side{{Namespace: "ns-bare", Pods: []string{"web-a"}, Services: []string{"web-stable"}}, {Namespace: "ns-bare", Pods: []string{"web-b"}, Services: []string{"web-canary"}}}
	c := startPrometheus(t, targets)
	ctx := context.Background()
	for _, set := range sets {
		t.Run(set.shape, func(t *testing.T) {
			var d *prom.Discovery
			waitFor(t, 60*time.Second, set.shape+" discovered", func() (bool, string) {
				var err error
				if d, err = prom.Discover(ctx, c, set.sides, ""); err != nil {
					return false, err.Error()
				}
				return d.Traffic == set.shape && d.Latency == set.shape, fmt.Sprintf("traffic %q latency %q: %+v", d.Traffic, d.Latency, d.Candidates)
			})
			src, _ := d.Source("traffic")
			q := src.Templates()
			for _, cand := range d.Candidates {
				if cand.Source == "ingress-nginx" && set.shape == "ingress-nginx" && cand.NSLabel != "exported_namespace" {
					t.Errorf("scraped from the controller's pod, the ingress namespace is in exported_namespace; got %q", cand.NSLabel)
				}
			}
			waitFor(t, 30*time.Second, set.shape+" error ratio and latency", func() (bool, string) {
				stableSel, _ := d.Selector("traffic", set.sides[0])
				canarySel, _ := d.Selector("traffic", set.sides[1])
				se, ok1 := instant(t, c, render(q["error_ratio"], stableSel))
				ce, ok2 := instant(t, c, render(q["error_ratio"], canarySel))
				p95, ok3 := instant(t, c, render(q["latency_p95"], canarySel))
				rate, ok4 := instant(t, c, render(q["request_rate"], canarySel))
				msg := fmt.Sprintf("stable %.3f canary %.3f p95 %.3fs rate %.1f", se, ce, p95, rate)
				return ok1 && ok2 && ok3 && ok4 && se == 0 && math.Abs(ce-0.2) < 0.02 && p95 > 0.025 && p95 <= 0.05 && rate > 30 && rate < 70, msg
			})
		})
	}
	t.Run("no source", func(t *testing.T) {
		d, err := prom.Discover(ctx, c, bare, "")
		if err != nil {
			t.Fatal(err)
		}
		if d.Traffic != "" || d.Latency != "" || len(d.Candidates) != len(prom.Sources) {
			t.Fatalf("want nothing found and every source listed, got %+v", d)
		}
		for _, cand := range d.Candidates {
			if cand.Found || cand.Why == "" {
				t.Errorf("%s: found=%v why=%q", cand.Source, cand.Found, cand.Why)
			}
		}
	})
	t.Run("override", func(t *testing.T) {
		if _, err := prom.Discover(ctx, c, bare, "kayenta"); err == nil || !strings.Contains(err.Error(), "istio") {
			t.Fatalf("unknown override: %v", err)
		}
		d, err := prom.Discover(ctx, c, bare, "istio")
		if err != nil || d.Traffic != "istio" || !d.Forced {
			t.Fatalf("forced istio: %+v %v", d, err)
		}
	})
}
