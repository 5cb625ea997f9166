package triage

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fixloop/fixloop/internal/store"
	"github.com/fixloop/fixloop/tools"
)

func TestFillFromTextReadsThePluginPrompt(t *testing.T) {
	var ns, ro string
	fillFromText("Analyze canary deployment for rollout 'checkout-v2'. Namespace: shop. Use your tools to fetch and compare logs from stable pods (selector: role=stable)", &ns, &ro, nil, nil)
	if ns != "shop" || ro != "checkout-v2" {
		t.Fatalf("got ns=%q rollout=%q", ns, ro)
	}
	var ns2, wl, win string
	fillFromText("Investigate service api in namespace payments over the last 1h", &ns2, nil, &wl, &win)
	if ns2 != "payments" || wl != "api" || win != "1h" {
		t.Fatalf("got ns=%q workload=%q window=%q", ns2, wl, win)
	}
}

func TestNormaliseNeverLetsInconclusivePass(t *testing.T) {
	v := Verdict{Verdict: "inconclusive", Promote: true, Confidence: 95}
	normalise(&v)
	if v.Promote || v.Confidence > 40 {
		t.Fatalf("inconclusive normalised to %+v", v)
	}
	v = Verdict{Verdict: "weird", Promote: false, Confidence: 150}
	normalise(&v)
	if v.Verdict != VerdictInconclusive || v.Promote || v.Confidence > 40 {
		t.Fatalf("unknown verdict normalised to %+v", v)
	}
	v = Verdict{Verdict: "abort", Promote: true, Confidence: 90}
	normalise(&v)
	if v.Promote {
		t.Fatal("abort with promote:true kept promote")
	}
}

func newTestTriage(t *testing.T) (*Triage, *http.ServeMux) {
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tr, err := New(Config{Store: st, Tools: tools.Deps{}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	tr.RegisterArgo(mux)
	return tr, mux
}

// Without a cluster every entry point answers, and nothing reads as a pass.
func TestArgoEntryPointsFailSafeWithoutCluster(t *testing.T) {
	_, mux := newTestTriage(t)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET / = %v %v", resp, err)
	}
	body := `{"userId":"argo-rollouts","prompt":"Analyze canary deployment for rollout 'web'. Namespace: shop.","context":{"namespace":"shop","rolloutName":"web","stableSelector":"role=stable","canarySelector":"role=canary"},"memoryId":"rollout:shop/web"}`
	resp, err = http.Post(srv.URL+"/a2a/analyze", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST /a2a/analyze = %v %v", resp, err)
	}
	var pr PluginResponse
	json.NewDecoder(resp.Body).Decode(&pr)
	if pr.Promote || pr.Confidence > 40 || !strings.Contains(pr.Analysis, "Inconclusive") || !strings.Contains(pr.Analysis, "no cluster configured") {
		t.Fatalf("no-cluster plugin answer = %+v", pr)
	}
	resp, _ = http.Post(srv.URL+"/a2a/analyze", "application/json", strings.NewReader(`{not json`))
	if resp.StatusCode != 400 {
		t.Fatalf("bad JSON answered %d", resp.StatusCode)
	}
	resp, _ = http.Post(srv.URL+"/a2a/analyze", "application/json", strings.NewReader(`{"prompt":"hello","context":{}}`))
	json.NewDecoder(resp.Body).Decode(&pr)
	if resp.StatusCode != 200 || pr.Promote {
		t.Fatalf("request without rollout = %d %+v", resp.StatusCode, pr)
	}
	resp, _ = http.Post(srv.URL+"/argo/v1/verdict", "application/json", strings.NewReader(`{"namespace":"shop","rollout":"web"}`))
	if resp.StatusCode/100 == 2 {
		t.Fatalf("web provider without cluster answered %d: Argo must record an error, not a result", resp.StatusCode)
	}
	resp, _ = http.Post(srv.URL+"/argo/v1/verdict", "application/json", strings.NewReader(`{"namespace":"shop"}`))
	if resp.StatusCode != 400 {
		t.Fatalf("web provider without rollout answered %d", resp.StatusCode)
	}
}

func TestEvidenceRowsAndExamplesFromJudgeEvidence(t *testing.T) {
	ev := []Evidence{
		{"kind": "new_template", "template": "GET /x status=<*>", "stable": map[string]any{"count": 0.0, "ratePer1000": 0.0}, "canary": map[string]any{"count": 50.0, "ratePer1000": 82.1, "level": "error"}, "detail": "new 5xx", "examples": []any{"GET /x status=500"}},
		{"kind": "new_template", "template": "panic: <*>", "canary": map[string]any{"count": 3.0, "level": "panic"}, "detail": "new panic", "examples": []any{"panic: boom\ngoroutine 1"}},
		{"kind": "metric", "metric": "latency_p95", "stable": map[string]any{"median": 0.01, "samples": 17.0}, "canary": map[string]any{"median": 0.02, "samples": 5.0}, "detail": "slower"},
	}
	row := evidenceRow(ev[0])
	if row.Signal != "GET /x status=<*>" || row.Stable != "0 (0/1000)" || row.Canary != "50 (82.1/1000), error" || row.Note != "new 5xx" {
		t.Fatalf("row = %+v", row)
	}
	if r := evidenceRow(ev[2]); r.Signal != "latency_p95" || r.Stable != "median 0.01, n=17" {
		t.Fatalf("metric row = %+v", r)
	}
	ex := logExamples(ev, 3)
	if len(ex) != 2 || !strings.HasPrefix(ex[0], "panic: boom") {
		t.Fatalf("examples = %q (the panic must come first)", ex)
	}
}

func TestIgnoresFromPrompt(t *testing.T) {
	got := IgnoresFromPrompt("The colour changes on purpose.\nignore: color=\\w+\n  IGNORE: cache warm(up|ing)\nignore: ([bad")
	if len(got) != 2 || got[0] != `color=\w+` || got[1] != "cache warm(up|ing)" {
		t.Fatalf("got %q", got)
	}
}

func TestMasksFromPrompt(t *testing.T) {
	got := MasksFromPrompt("ignore: legacy endpoint\nmask: color=\\w+\n MASK: version=\\S+")
	if len(got) != 2 || got[0] != `color=\w+` || got[1] != `version=\S+` {
		t.Fatalf("got %q", got)
	}
}

// The issue fingerprint must not move when a metric gathers enough samples between two analyses.
func TestIssueFingerprintIgnoresLateMetrics(t *testing.T) {
	panicEv := Evidence{"kind": "new_template", "template": "panic: index out of range [<*>]", "severity": "critical"}
	errEv := Evidence{"kind": "new_template", "template": "[error] GET /color status=<*>", "severity": "critical"}
	metricEv := Evidence{"kind": "metric", "metric": "rate_5xx", "severity": "critical"}
	rate := Evidence{"kind": "rate_change", "template": "GET /color status=200", "severity": "warning"}
	first := issueFingerprint(Verdict{Evidence: []Evidence{panicEv, errEv}, Fingerprint: "fp-a"}, "shop", "web")
	second := issueFingerprint(Verdict{Evidence: []Evidence{errEv, metricEv, panicEv, rate}, Fingerprint: "fp-b"}, "shop", "web")
	if first != second || first == "" {
		t.Fatalf("fingerprints differ: %s vs %s", first, second)
	}
	if other := issueFingerprint(Verdict{Evidence: []Evidence{errEv}}, "shop", "web"); other == first {
		t.Fatal("a different failure got the same fingerprint")
	}
	onlyMetric := issueFingerprint(Verdict{Evidence: []Evidence{metricEv}}, "shop", "web")
	if onlyMetric == "" || onlyMetric == first {
		t.Fatalf("metric-only fingerprint = %q", onlyMetric)
	}
	if fp := issueFingerprint(Verdict{Fingerprint: "fp-judge"}, "shop", "web"); fp != "fp-judge" {
		t.Fatalf("fallback = %q", fp)
	}
}
