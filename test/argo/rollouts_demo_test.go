package argo_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/prom"
	"github.com/fixloop/fixloop/internal/testenv"
	"github.com/fixloop/fixloop/tools"
)

// rolloutsDemoCases are the revisions of argoproj/rollouts-demo (blue) under test. Its ERROR_RATE is the
// share of requests answered 200 (see its source), so 70 means 30% HTTP 500; LATENCY is seconds.
// stable is the stable revision's env; lines is how many request lines each canary pod logs before it
// is judged (see wait_data_test.go); kind is the evidence an abort must rest on (compare_canary).
// In "slower" both sides log a duration (rollouts-demo logs LATENCY as it is configured and sleeps its
// whole seconds), so the durations themselves are compared like a latency metric.
var rolloutsDemoCases = []struct {
	name    string
	stable  map[string]string
	env     map[string]string
	verdict string
	lines   int
	kind    string
}{
	{"colour", nil, map[string]string{"COLOR": "green"}, "promote", canaryLogLinesWanted, ""},
	{"errors", nil, map[string]string{"ERROR_RATE": "70"}, "abort", canaryLogLinesWanted, judge.KindFailedRequests},
	{"latency", nil, map[string]string{"LATENCY": "2"}, "abort", canaryLogLinesToCompare, ""},
	{"slower", map[string]string{"LATENCY": "0.5"}, map[string]string{"LATENCY": "2"}, "abort", canaryLogLinesToCompare, judge.KindLogLatency},
}

func requireRolloutsDemo(t *testing.T, e *testenv.Env) {
	t.Helper()
	if e.RolloutsDemoAvailable() {
		return
	}
	src := sharedDir("rollouts-demo")
	if _, err := os.Stat(src); err != nil {
		t.Skipf("DID NOT RUN: %s is absent, so argoproj/rollouts-demo was not built and cannot back pods", src)
	}
	t.Fatalf("%s exists but the environment has no rollouts-demo binary: run `hack/build-testenv.sh rollouts-demo`, then restart the environment", src)
}

// compare_canary on argoproj/rollouts-demo, whose logs are all fixloop sees (one access line per
// request, no metrics): a colour change promotes, 500s or slow answers with the same colour abort.
func TestRolloutsDemoCompareCanary(t *testing.T) {
	t.Parallel() // separate namespaces; each waits minutes on the controller
	e := testenv.Get(t)
	requireRolloutsDemo(t, e)
	ns := e.NewNamespace(t, "rdemo-cc")
	kc, err := kube.NewFromConfig(e.RestConfig, "testenv", kube.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := prom.New(e.PrometheusURL, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	hashes := map[string]string{}
	for _, c := range rolloutsDemoCases {
		deploy(t, e, ns, testenv.DemoRollout{Name: c.name, Image: testenv.RolloutsDemoImage, Env: c.stable})
		hashes[c.name] = canaryOf(t, e, ns, c.name, c.env)
	}
	for _, c := range rolloutsDemoCases {
		waitCanaryData(t, e, ns, hashes[c.name], c.lines)
	}
	for _, c := range rolloutsDemoCases {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		out, err := tools.CompareCanary(ctx, tools.Deps{Kube: kc, Prom: pc}, tools.CompareCanaryInput{Namespace: ns, Rollout: c.name})
		cancel()
		if err != nil {
			t.Fatalf("%s: compare_canary: %v", c.name, err)
		}
		t.Logf("%s: %s (%d) %s", c.name, out.Verdict, out.Confidence, out.Analysis)
		if out.Verdict != c.verdict {
			t.Errorf("%s: compare_canary says %s, want %s: %s", c.name, out.Verdict, c.verdict, out.Analysis)
		}
		if c.kind != "" && !hasBlocking(out.Evidence, c.kind) {
			t.Errorf("%s: no blocking %s evidence: %s", c.name, c.kind, out.Analysis)
		}
	}
}

// The shipped web-provider template (manifests/argo/analysis-template-web.yaml) in the real controller
// on argoproj/rollouts-demo: the colour change is promoted, 500s and latency with the same colour abort.
func TestRolloutsDemoWebProvider(t *testing.T) {
	t.Parallel() // separate namespaces; each waits minutes on the controller
	e := testenv.Get(t)
	requireRolloutsDemo(t, e)
	authFlags, tokenFile := withToken(t)
	srv := startServe(t, e, e.PrometheusURL, authFlags...)
	ns := e.NewNamespace(t, "rdemo-web")
	createShippedTemplate(t, e, ns, "analysis-template-web.yaml", srv.URL, nil)
	// The template reads fixloop's token from this Secret, as its header says.
	token, _ := os.ReadFile(tokenFile)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "fixloop-argo-token"}, StringData: map[string]string{"token": strings.TrimSpace(string(token))}}
	if _, err := e.Clientset(t).CoreV1().Secrets(ns).Create(context.Background(), secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	steps := []map[string]any{
		{"setWeight": int64(20)},
		{"pause": map[string]any{}}, // the test resumes it once the canary logged enough requests
		{"analysis": map[string]any{"templates": []any{map[string]any{"templateName": "fixloop-canary"}}, "args": []any{
			map[string]any{"name": "rollout", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.name"}}},
			map[string]any{"name": "namespace", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.namespace"}}},
		}}},
	}
	hashes := map[string]string{}
	for _, c := range rolloutsDemoCases {
		deploy(t, e, ns, testenv.DemoRollout{Name: c.name, Image: testenv.RolloutsDemoImage, Steps: steps, Env: c.stable})
		hashes[c.name] = canaryOf(t, e, ns, c.name, c.env)
	}
	for _, c := range rolloutsDemoCases {
		resumeWithData(t, e, ns, c.name, hashes[c.name], c.lines)
	}
	for _, c := range rolloutsDemoCases {
		want, what := aborted, "aborted"
		if c.verdict == "promote" {
			want, what = promoted(hashes[c.name]), "promoted"
		}
		waitFor(t, 6*time.Minute, c.name+" "+what, func() (bool, string) {
			u := e.WaitRollout(t, ns, c.name, func(*unstructured.Unstructured) bool { return true }, time.Second)
			return want(u), describe(t, e, ns, c.name, hashes[c.name])
		})
		// An inconclusive verdict aborts too under the shipped template: the verdict itself must be right.
		if v := lastMeasuredValue(analysisRun(t, e, ns, hashes[c.name])); !strings.Contains(v, `"verdict":"`+c.verdict+`"`) {
			t.Errorf("%s: fixloop's measured answer is not %s: %s", c.name, c.verdict, v)
		} else {
			t.Logf("%s: %s", c.name, v)
		}
	}
}

func hasBlocking(ev []judge.Evidence, kind string) bool {
	for _, e := range ev {
		if e.Kind == kind && (e.Severity == judge.SeverityCritical || e.Severity == judge.SeverityWarning) {
			return true
		}
	}
	return false
}

// lastMeasuredValue is the value (the web provider keeps fixloop's JSON answer) of a run's last measurement.
func lastMeasuredValue(run *unstructured.Unstructured) string {
	results, _, _ := unstructured.NestedSlice(orEmpty(run).Object, "status", "metricResults")
	v := ""
	for _, r := range results {
		ms, _, _ := unstructured.NestedSlice(r.(map[string]any), "measurements")
		for _, m := range ms {
			if s, _ := m.(map[string]any)["value"].(string); s != "" {
				v = s
			}
		}
	}
	return v
}

// createShippedTemplate creates manifests/argo/<file> in ns with fixloop's address replaced by url; edit
// changes the provider configuration of its first metric (nil: none).
func createShippedTemplate(t *testing.T, e *testenv.Env, ns, file, url string, edit func(provider map[string]any)) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "manifests", "argo", file))
	if err != nil {
		t.Fatal(err)
	}
	raw = []byte(strings.ReplaceAll(string(raw), "http://fixloop.fixloop.svc:8080", url))
	var obj map[string]any
	if err := yaml.Unmarshal(raw, &obj); err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetNamespace(ns)
	if edit != nil {
		metrics, _, _ := unstructured.NestedSlice(obj, "spec", "metrics")
		provider, _ := metrics[0].(map[string]any)["provider"].(map[string]any)
		edit(provider)
		if err := unstructured.SetNestedSlice(obj, metrics, "spec", "metrics"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Dynamic(t).Resource(templateGVR).Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the shipped template %s: %v", file, err)
	}
	return u.GetName()
}
