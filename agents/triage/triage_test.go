package triage

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/github/ghsink"
	"github.com/fixloop/fixloop/internal/github/ghsink/ghsinktest"
	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/redact"
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
	v := judge.Verdict{Verdict: "inconclusive", Promote: true, Confidence: 95}
	normalise(&v)
	if v.Promote || v.Confidence > 40 {
		t.Fatalf("inconclusive normalised to %+v", v)
	}
	v = judge.Verdict{Verdict: "weird", Promote: false, Confidence: 150}
	normalise(&v)
	if v.Verdict != VerdictInconclusive || v.Promote || v.Confidence > 40 {
		t.Fatalf("unknown verdict normalised to %+v", v)
	}
	v = judge.Verdict{Verdict: "abort", Promote: true, Confidence: 90}
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
	n := func(i int) *int { return &i }
	f := func(x float64) *float64 { return &x }
	ev := []judge.Evidence{
		{Kind: "new_template", Template: "GET /x status=<*>", Stable: &judge.Side{Count: n(0), Rate: f(0)}, Canary: &judge.Side{Count: n(50), Rate: f(82.1), Level: "error"}, Detail: "new 5xx", Examples: []string{"GET /x status=500"}},
		{Kind: "new_template", Template: "panic: <*>", Canary: &judge.Side{Count: n(3), Level: "panic"}, Detail: "new panic", Examples: []string{"panic: boom\ngoroutine 1"}},
		{Kind: "metric", Metric: "latency_p95", Stable: &judge.Side{Median: f(0.01), Samples: n(17)}, Canary: &judge.Side{Median: f(0.02), Samples: n(5)}, Detail: "slower"},
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

// abortFixture is a triage agent filing into acme/shop on a local GitHub server, and the judge's abort
// verdict on testdata/canary/5xx-increase.
func abortFixture(t *testing.T) (*Triage, *judge.Verdict, *ghsink.Server) {
	t.Helper()
	dir := "../../testdata/canary/5xx-increase"
	in, err := judge.LoadFiles(judge.Files{Stable: dir + "/stable.log", Canary: dir + "/canary.log"})
	if err != nil {
		t.Fatal(err)
	}
	in.Namespace, in.Rollout = "shop", "web"
	v, err := judge.Judge(context.Background(), in, judge.Options{})
	if err != nil || v.Verdict != judge.Abort || v.Fingerprint == "" {
		t.Fatalf("judge on 5xx-increase: %+v %v", v, err)
	}
	sink, gh, _ := localGitHub(t, ghsink.Options{})
	tr, _ := newTestTriage(t)
	tr.cfg.GitHub, tr.cfg.DefaultRepo = gh, "acme/shop"
	return tr, v, sink
}

// One failure, one fingerprint: the issue the triage agent files for testdata/canary/5xx-increase is
// labelled with the judge's own fingerprint (what compare_canary and `fixloop judge` print), where the
// old second fingerprint function filed it under another.
func TestIssueFiledUnderTheJudgesFingerprint(t *testing.T) {
	tr, v, sink := abortFixture(t)
	for i := range 2 { // a second analysis of the same failure comments, never files again
		res := &AnalyzeResult{JudgeVerdict: *v, Namespace: "shop", Rollout: "web"}
		tr.act(context.Background(), AnalyzeInput{Namespace: "shop", Rollout: "web"}, analysisInputs{RepoURL: "acme/shop"}, fmt.Sprintf("op-%d", i), res, nop)
		if res.Issue == nil || res.Fingerprint != v.Fingerprint {
			t.Fatalf("analysis %d: issue %+v (%s) under %q, want the judge's %q", i, res.Issue, res.IssueError, res.Fingerprint, v.Fingerprint)
		}
	}
	issues := sink.Issues("acme/shop")
	if len(issues) != 1 {
		t.Fatalf("%d issues for one failure, want 1", len(issues))
	}
	var labels []string
	for _, l := range issues[0].Labels {
		labels = append(labels, l.Name)
	}
	if !slices.Contains(labels, github.FingerprintLabel(v.Fingerprint)) {
		t.Fatalf("issue labels %v lack the judge's fingerprint %s", labels, v.Fingerprint)
	}
}

// localGitHub starts the local GitHub server (ghsink) with opts and fixloop's GitHub client on it; it
// returns the API base URL too, for clients of other accounts.
func localGitHub(t *testing.T, opts ghsink.Options) (*ghsink.Server, *github.GitHub, string) {
	t.Helper()
	sink, ts := ghsinktest.Start(t, opts)
	gh, err := github.New(github.Config{BaseURL: ts.URL + "/", Redactor: redact.Default()})
	if err != nil {
		t.Fatal(err)
	}
	return sink, gh, ts.URL + "/"
}
