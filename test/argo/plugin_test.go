package argo_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fixloop/fixloop/internal/testenv"
)

// fixloopMetric is the AnalysisTemplate metric of fixloop's own plugin, as manifests/argo documents it.
func fixloopMetric(url, tokenFile string) map[string]any {
	cfg := map[string]any{"url": url, "pollSeconds": int64(2),
		// The colour changes on purpose in the good revision.
		"mask": []any{`color=\w+`}}
	if tokenFile != "" {
		cfg["tokenFile"] = tokenFile
	}
	return map[string]any{
		"name":             "fixloop-verdict",
		"successCondition": "result.promote == true && result.confidence >= 70",
		"provider":         map[string]any{"plugin": map[string]any{testenv.FixloopPluginName: cfg}},
	}
}

// fixloop's metric plugin in the real controller: a good revision is promoted, a panicking one aborted,
// a revision without any data pauses the rollout (Inconclusive).
func TestFixloopPluginVerdicts(t *testing.T) {
	t.Parallel() // separate namespaces; each waits minutes on the controller
	e := testenv.Get(t)
	requirePlugin(t, e, testenv.FixloopPluginName)
	authFlags, tokenFile := withToken(t)
	// As shipped for production: HTTPS (the plugin verifies fixloop's certificate with caFile) and a token.
	srv := startServeTLS(t, e, e.PrometheusURL, authFlags...)
	refusesWithoutToken(t, srv)
	ns := e.NewNamespace(t, "plugin")
	// The shipped template, with the test's token file and the colour declared intended.
	name := createShippedTemplate(t, e, ns, "analysis-template-fixloop.yaml", srv.URL, func(p map[string]any) {
		cfg := p["plugin"].(map[string]any)[testenv.FixloopPluginName].(map[string]any)
		cfg["tokenFile"], cfg["caFile"] = tokenFile, srv.CAFile
		cfg["pollSeconds"], cfg["mask"] = int64(2), []any{`color=\w+`}
	})
	steps := indefiniteAnalysisSteps(name)
	deploy(t, e, ns, testenv.DemoRollout{Name: "good", Steps: steps})
	deploy(t, e, ns, testenv.DemoRollout{Name: "bad", Steps: steps})
	// Pods of an image nobody backs: Running, but no log line and no metric on either side.
	deployUnbacked(t, e, ns, "silent", steps)

	cases := []struct {
		rollout string
		env     map[string]string
		want    func(*unstructured.Unstructured) bool
		what    string
		run     string
	}{
		{"good", map[string]string{"COLOR": "green"}, nil, "promoted", "Successful"},
		{"bad", map[string]string{"PANIC_RATE": "0.3", "ERROR_RATE": "0.2"}, aborted, "aborted", "Failed"},
		{"silent", map[string]string{"VERSION": "2"}, pausedInconclusive, "paused Inconclusive", "Inconclusive"},
	}
	hashes := map[string]string{}
	for _, c := range cases {
		hashes[c.rollout] = canaryOf(t, e, ns, c.rollout, c.env)
	}
	for _, c := range cases {
		if c.rollout == "silent" { // no data will ever come: analyse it as it is
			e.WaitRollout(t, ns, c.rollout, pausedAtStep, 3*time.Minute)
			promoteStep(t, e, ns, c.rollout)
			continue
		}
		resumeWithData(t, e, ns, c.rollout, hashes[c.rollout], 0)
	}
	for _, c := range cases {
		want := c.want
		if want == nil {
			want = promoted(hashes[c.rollout])
		}
		waitFor(t, 6*time.Minute, c.rollout+" "+c.what, func() (bool, string) {
			u := e.WaitRollout(t, ns, c.rollout, func(*unstructured.Unstructured) bool { return true }, time.Second)
			return want(u), describe(t, e, ns, c.rollout, hashes[c.rollout])
		})
		run := analysisRun(t, e, ns, hashes[c.rollout])
		if got := runPhase(run); got != c.run {
			t.Errorf("%s: AnalysisRun phase %s, want %s\n%s", c.rollout, got, c.run, describe(t, e, ns, c.rollout, hashes[c.rollout]))
		}
		phases, _, md := measurements(run)
		t.Logf("%s: measurements %v metadata %v", c.rollout, phases, md)
		if len(md) == 0 || md[len(md)-1]["fixloop.verdictUrl"] == nil || md[len(md)-1]["fixloop.summary"] == nil {
			t.Errorf("%s: the measurement lacks the verdict link or summary: %v", c.rollout, md)
		}
	}
	if !strings.Contains(srv.Log(), "POST /argo/v1/analyses") {
		t.Errorf("fixloop logged no access line for the plugin's calls:\n%s", srv.Log())
	}
}

// While one analysis is slow (its fixloop's Prometheus never answers), another Rollout's analysis runs
// and promotes: the plugin never blocks the controller. Then the slow fixloop is killed mid-analysis:
// that run must not end Successful, and its rollout is aborted.
func TestFixloopPluginSlowAnalysisDoesNotBlockAndDeadFixloopNeverPasses(t *testing.T) {
	t.Parallel() // separate namespaces; each waits minutes on the controller
	e := testenv.Get(t)
	requirePlugin(t, e, testenv.FixloopPluginName)
	slow := startServe(t, e, blackhole(t), "--prometheus-timeout", "4m")
	fast := startServe(t, e, e.PrometheusURL)
	ns := e.NewNamespace(t, "plugin-slow")
	createTemplate(t, e, ns, "slow", fixloopMetric(slow.URL, ""))
	createTemplate(t, e, ns, "fast", fixloopMetric(fast.URL, ""))
	deploy(t, e, ns, testenv.DemoRollout{Name: "slow", Steps: analysisSteps("slow", "5s")})
	deploy(t, e, ns, testenv.DemoRollout{Name: "fast", Steps: indefiniteAnalysisSteps("fast")})

	slowHash := canaryOf(t, e, ns, "slow", map[string]string{"COLOR": "green"})
	waitFor(t, 3*time.Minute, "the slow analysis running", func() (bool, string) {
		run := analysisRun(t, e, ns, slowHash)
		phases, _, _ := measurements(orEmpty(run))
		return len(phases) > 0 && phases[len(phases)-1] == "Running", describe(t, e, ns, "slow", slowHash)
	})
	fastHash := canaryOf(t, e, ns, "fast", map[string]string{"COLOR": "green"})
	resumeWithData(t, e, ns, "fast", fastHash, 0)
	waitFor(t, 5*time.Minute, "the other rollout promoted while the slow analysis runs", func() (bool, string) {
		u := e.WaitRollout(t, ns, "fast", func(*unstructured.Unstructured) bool { return true }, time.Second)
		return promoted(fastHash)(u), describe(t, e, ns, "fast", fastHash)
	})
	if p := runPhase(analysisRun(t, e, ns, slowHash)); p != "Running" {
		t.Fatalf("the slow analysis ended (%s) before the other rollout was promoted: nothing was shown\n%s", p, describe(t, e, ns, "slow", slowHash))
	}

	slow.Kill()
	waitFor(t, 4*time.Minute, "the slow rollout aborted after its fixloop died", func() (bool, string) {
		u := e.WaitRollout(t, ns, "slow", func(*unstructured.Unstructured) bool { return true }, time.Second)
		return aborted(u), describe(t, e, ns, "slow", slowHash)
	})
	run := analysisRun(t, e, ns, slowHash)
	phases, messages, _ := measurements(run)
	if p := runPhase(run); p == "Successful" {
		t.Fatalf("analysis against a dead fixloop ended Successful: %v %q", phases, messages)
	}
	for i, p := range phases {
		if p == "Successful" {
			t.Fatalf("measurement %d Successful against a dead fixloop: %v %q", i, phases, messages)
		}
	}
	if !strings.Contains(strings.Join(messages, " "), "unreachable") {
		t.Errorf("no measurement says fixloop was unreachable: %q", messages)
	}
	t.Logf("slow run: %s, measurements %v %q", runPhase(run), phases, messages)
}

// refusesWithoutToken: the plugin's route answers 401 to a caller without the token (over verified TLS).
func refusesWithoutToken(t *testing.T, srv *serve) {
	t.Helper()
	resp, err := srv.Client.Post(srv.URL+"/argo/v1/analyses", "application/json", strings.NewReader(`{"id":"x","namespace":"a","rollout":"b"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("POST /argo/v1/analyses without a token = %d, want 401", resp.StatusCode)
	}
}

func orEmpty(u *unstructured.Unstructured) *unstructured.Unstructured {
	if u == nil {
		return &unstructured.Unstructured{Object: map[string]any{}}
	}
	return u
}

// deployUnbacked creates a rollout whose pods run an image the supervisor does not back.
func deployUnbacked(t *testing.T, e *testenv.Env, ns, name string, steps []map[string]any) {
	t.Helper()
	svc, ro := testenv.DemoObjects(ns, testenv.DemoRollout{Name: name, Steps: steps, Image: "example.com/silent:1"})
	ctx := context.Background()
	if _, err := e.Clientset(t).CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Dynamic(t).Resource(testenv.RolloutGVR).Namespace(ns).Create(ctx, ro, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.WaitRollout(t, ns, name, func(u *unstructured.Unstructured) bool {
		p, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		return p == "Healthy"
	}, 3*time.Minute)
	boostTraffic(t, e, ns, name)
}
