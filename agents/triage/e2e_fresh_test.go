package triage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/testenv"
)

// installWebTemplate creates the shipped web-provider AnalysisTemplate (manifests/argo) pointed at
// verdictURL, with mask patterns in its request body when given, and the Secret holding the token the
// controller sends.
func installWebTemplate(t *testing.T, e *testenv.Env, ns, verdictURL, token string, mask ...any) {
	t.Helper()
	if _, err := e.Clientset(t).CoreV1().Secrets(ns).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "fixloop-argo-token"}, StringData: map[string]string{"token": token}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../manifests/argo/analysis-template-web.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tmpl map[string]any
	if err := yaml.Unmarshal(raw, &tmpl); err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: tmpl}
	metrics, _, _ := unstructured.NestedSlice(u.Object, "spec", "metrics")
	m := metrics[0].(map[string]any)
	unstructured.SetNestedField(m, verdictURL, "provider", "web", "url")
	if len(mask) > 0 {
		unstructured.SetNestedSlice(m, mask, "provider", "web", "jsonBody", "mask")
	}
	metrics[0] = m
	unstructured.SetNestedSlice(u.Object, metrics, "spec", "metrics")
	u.SetNamespace(ns)
	if _, err := e.Dynamic(t).Resource(analysisTemplateGVR).Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create AnalysisTemplate from manifests/argo/analysis-template-web.yaml: %v", err)
	}
}

// analysisSteps: 20% canary, a pause (pause "": until the test resumes it, see resumePaused), then the
// shipped web-provider template's analysis.
func analysisSteps(ns, name, pause string) []map[string]any {
	step := map[string]any{}
	if pause != "" {
		step["duration"] = pause
	}
	return []map[string]any{
		{"setWeight": int64(20)},
		{"pause": step},
		{"analysis": map[string]any{
			"templates": []any{map[string]any{"templateName": "fixloop-canary"}},
			"args":      []any{map[string]any{"name": "rollout", "value": name}, map[string]any{"name": "namespace", "value": ns}},
		}},
	}
}

// resumePaused waits until the rollout holds at its indefinite pause step, then ends the pause as
// `kubectl argo rollouts promote` does (the analysis step follows).
func resumePaused(t *testing.T, e *testenv.Env, ns, rollout string) {
	t.Helper()
	e.WaitRollout(t, ns, rollout, func(u *unstructured.Unstructured) bool {
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions")
		for _, c := range conds {
			if m, _ := c.(map[string]any); m["reason"] == "CanaryPauseStep" {
				return true
			}
		}
		return false
	}, 3*time.Minute)
	kc, err := kube.NewFromConfig(e.RestConfig, "testenv", kube.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := kc.GetRollout(context.Background(), ns, rollout)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := kube.PlanPromote(r, false)
	if err != nil {
		t.Fatalf("promote %s/%s past its pause: %v", ns, rollout, err)
	}
	if _, err := kc.PatchRollout(context.Background(), ns, rollout, plan.StatusPatch, plan.SpecPatch); err != nil {
		t.Fatal(err)
	}
}

func aborted(u *unstructured.Unstructured) bool {
	a, _, _ := unstructured.NestedBool(u.Object, "status", "abort")
	return a
}

// runVerdict is the verdict an AnalysisRun measured (the web provider stores the JSON it got).
type runVerdict struct {
	Run        string    `json:"run"`
	Verdict    string    `json:"verdict"`
	AnalyzedAt time.Time `json:"analyzedAt"`
	created    time.Time
	name       string
}

// decidedRuns returns the finished AnalysisRuns of a rollout (by UID) with the verdict each measured.
func decidedRuns(t *testing.T, e *testenv.Env, ns string, rolloutUID types.UID) []runVerdict {
	t.Helper()
	l, err := e.Dynamic(t).Resource(kube.AnalysisRunsGVR).Namespace(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []runVerdict
	for _, ar := range l.Items {
		owned := false
		for _, ref := range ar.GetOwnerReferences() {
			owned = owned || ref.UID == rolloutUID
		}
		results, _, _ := unstructured.NestedSlice(ar.Object, "status", "metricResults")
		if !owned || len(results) == 0 {
			continue
		}
		ms, _, _ := unstructured.NestedSlice(results[0].(map[string]any), "measurements")
		for _, m := range ms {
			mm := m.(map[string]any)
			if mm["phase"] != "Successful" && mm["phase"] != "Failed" {
				continue
			}
			var v runVerdict
			if err := json.Unmarshal([]byte(mm["value"].(string)), &v); err != nil {
				t.Fatalf("AnalysisRun %s measured %q: not the verdict JSON: %v", ar.GetName(), mm["value"], err)
			}
			v.created, v.name = ar.GetCreationTimestamp().Time, ar.GetName()
			out = append(out, v)
		}
	}
	return out
}

// waitDecidedRuns waits until the rollout has n decided AnalysisRuns.
func waitDecidedRuns(t *testing.T, e *testenv.Env, ns string, uid types.UID, n int) []runVerdict {
	t.Helper()
	var runs []runVerdict
	testenv.WaitFor(t, fmt.Sprintf("%d decided AnalysisRuns of rollout %s/%s", n, ns, uid), time.Second, 5*time.Minute, func() (bool, string) {
		runs = decidedRuns(t, e, ns, uid)
		return len(runs) >= n, fmt.Sprintf("%d decided", len(runs))
	})
	return runs
}

// assertFresh fails when an AnalysisRun was answered with a verdict computed before it was created.
func assertFresh(t *testing.T, runs []runVerdict) {
	t.Helper()
	for _, r := range runs {
		// The apiserver keeps creation times to the second; the verdict must not predate that second.
		if r.AnalyzedAt.Before(r.created.Truncate(time.Second)) {
			t.Fatalf("AnalysisRun %s (created %s) got a verdict computed before it started (%s, run %q)", r.name, r.created, r.AnalyzedAt, r.Run)
		}
	}
}

// The cache answers repeated polls of one AnalysisRun only: a retried AnalysisRun (`kubectl argo rollouts
// retry rollout`) and a re-created rollout with the same pod template each get a verdict computed after
// they started, with the real Argo Rollouts controller polling the shipped web-provider template.
func TestRetriedAndRecreatedRolloutsGetFreshVerdicts(t *testing.T) {
	e := clusterTest(t)
	_, sinkURL := newSink(t)
	token, authFile := argoToken(t)
	srv := startServe(t, e, sinkURL, "acme/fresh", "--auth-file", authFile)
	ns := e.NewNamespace(t, "fresh")
	installWebTemplate(t, e, ns, srv.URL+"/argo/v1/verdict", token)
	bad := map[string]string{"PANIC_RATE": "0.3", "ERROR_RATE": "0.2"}
	ro := testenv.DemoRollout{Name: "web", Replicas: 5, Steps: analysisSteps(ns, "web", "30s")}
	e.DeployDemoRollout(t, ns, ro)
	e.UpdateDemoRollout(t, ns, "web", bad)
	first := e.WaitRollout(t, ns, "web", aborted, 5*time.Minute)
	uid := first.GetUID()
	runs := waitDecidedRuns(t, e, ns, uid, 1)
	assertFresh(t, runs)

	// kubectl argo rollouts retry rollout web: the status patch the plugin sends.
	if _, err := e.Dynamic(t).Resource(kube.RolloutsGVR).Namespace(ns).Patch(context.Background(), "web", types.MergePatchType,
		[]byte(`{"status":{"abort":false}}`), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	runs = waitDecidedRuns(t, e, ns, uid, 2)
	assertFresh(t, runs)
	e.WaitRollout(t, ns, "web", aborted, 5*time.Minute)
	t.Logf("retry: %d decided AnalysisRuns, each with a verdict computed after it started: %+v", len(runs), runs)

	// Delete and re-create the rollout with the same pod template: a new UID, the same canary hash.
	if err := e.Dynamic(t).Resource(kube.RolloutsGVR).Namespace(ns).Delete(context.Background(), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the rollout to be deleted", 200*time.Millisecond, 2*time.Minute, func() (bool, string) {
		_, err := e.Dynamic(t).Resource(kube.RolloutsGVR).Namespace(ns).Get(context.Background(), "web", metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprintf("get: %v", err)
	})
	e.DeployDemoRollout(t, ns, ro)
	e.UpdateDemoRollout(t, ns, "web", bad)
	again := e.WaitRollout(t, ns, "web", aborted, 5*time.Minute)
	runs = waitDecidedRuns(t, e, ns, again.GetUID(), 1)
	assertFresh(t, runs)
	t.Logf("re-created rollout (uid %s → %s): %+v", uid, again.GetUID(), runs)
}

// Verdict poisoning (issue 14): an unauthenticated POST /argo/v1/verdict with {"ignore":["."]} is
// refused, and a request's own patterns never reach Argo's polls: the real controller still aborts a
// panicking canary. On the old code the "." request cached promote 95 and Argo promoted.
func TestRequestPatternsNeverPoisonArgosVerdict(t *testing.T) {
	e := clusterTest(t)
	_, sinkURL := newSink(t)
	token, authFile := argoToken(t)
	srv := startServe(t, e, sinkURL, "acme/poison", "--auth-file", authFile)
	ns := e.NewNamespace(t, "poison")
	installWebTemplate(t, e, ns, srv.URL+"/argo/v1/verdict", token)
	e.DeployDemoRollout(t, ns, testenv.DemoRollout{Name: "bad", Replicas: 5, Steps: analysisSteps(ns, "bad", "45s")})
	stable := e.WaitRollout(t, ns, "bad", func(*unstructured.Unstructured) bool { return true }, time.Second)
	stableHash, _, _ := unstructured.NestedString(stable.Object, "status", "stableRS")
	e.UpdateDemoRollout(t, ns, "bad", map[string]string{"PANIC_RATE": "0.3", "ERROR_RATE": "0.2"})
	e.WaitRollout(t, ns, "bad", func(u *unstructured.Unstructured) bool {
		h, _, _ := unstructured.NestedString(u.Object, "status", "currentPodHash")
		return h != stableHash
	}, 2*time.Minute)
	soak(t, e, ns, 3)

	// The attacker holds a valid read token (the Argo one): authentication alone does not make a
	// request's patterns configuration.
	post := func(body string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/argo/v1/verdict", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, out := post(`{"namespace":"` + ns + `","rollout":"bad","ignore":["."]}`); code != http.StatusBadRequest {
		t.Fatalf(`{"ignore":["."]} answered %d %v, want 400 (a pattern matching most records is refused)`, code, out)
	}
	// A narrower pattern that hides the panic lines is judged, but under its own cache key only.
	hiding := webVerdict(t, srv.URL, token, map[string]any{"namespace": ns, "rollout": "bad", "ignore": []string{"panic|goroutine|error|500"}})
	if !strings.Contains(hiding["run"].(string), "#req-") || hiding["issueUrl"] != nil {
		t.Fatalf("verdict with request patterns = %v: want its own run key and no issue", hiding)
	}
	final := e.WaitRollout(t, ns, "bad", func(u *unstructured.Unstructured) bool {
		phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		return aborted(u) || phase == "Healthy"
	}, 5*time.Minute)
	if !aborted(final) {
		t.Fatalf("the panicking canary was promoted after a request tried to poison its verdict\nserve log:\n%s", srv.log())
	}
	for _, r := range decidedRuns(t, e, ns, final.GetUID()) {
		if strings.Contains(r.Run, "#req-") || r.Verdict != "abort" {
			t.Fatalf("Argo's AnalysisRun read %+v", r)
		}
	}
}
