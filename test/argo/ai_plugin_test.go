package argo_test

import (
	"os"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fixloop/fixloop/internal/testenv"
)

// The argoproj-labs AI metric plugin (built from ../shared/rollouts-plugin-metric-ai), loaded by the real
// controller and pointed at fixloop as manifests/argo documents: a good revision is promoted, a
// panicking one aborted. It selects pods by the role labels itself, hence stableMetadata/canaryMetadata.
func TestAIPluginInRealController(t *testing.T) {
	t.Parallel() // separate namespaces; each waits minutes on the controller
	e := testenv.Get(t)
	if e.MetricPlugin(testenv.MetricAIPluginName) == "" {
		src := sharedDir("rollouts-plugin-metric-ai")
		if _, err := os.Stat(src); err != nil {
			t.Skipf("DID NOT RUN: %s is absent, so the AI metric plugin was neither built nor loaded by the controller", src)
		}
		t.Fatalf("%s exists but the controller did not load the AI metric plugin: run `hack/build-testenv.sh metric-ai`, then restart the environment (make testenv-down testenv-up)", src)
	}
	srv := startServe(t, e, e.PrometheusURL, "--plugin-route", "verdicts") // the plugin sends no credentials
	ns := e.NewNamespace(t, "ai-plugin")
	// The shipped template, told that the colour changes on purpose.
	name := createShippedTemplate(t, e, ns, "analysis-template-plugin.yaml", srv.URL, func(p map[string]any) {
		cfg := p["plugin"].(map[string]any)[testenv.MetricAIPluginName].(map[string]any)
		cfg["extraPrompt"] = "The new version changes the colour on purpose.\nmask: color=\\w+"
	})
	roles := map[string]any{
		"stableMetadata": map[string]any{"labels": map[string]any{"role": "stable"}},
		"canaryMetadata": map[string]any{"labels": map[string]any{"role": "canary"}},
	}
	steps := indefiniteAnalysisSteps(name)
	deploy(t, e, ns, testenv.DemoRollout{Name: "good", Steps: steps, Extra: roles})
	deploy(t, e, ns, testenv.DemoRollout{Name: "bad", Steps: steps, Extra: roles})
	good := canaryOf(t, e, ns, "good", map[string]string{"COLOR": "green"})
	bad := canaryOf(t, e, ns, "bad", map[string]string{"PANIC_RATE": "0.3", "ERROR_RATE": "0.2"})
	resumeWithData(t, e, ns, "good", good, 0)
	resumeWithData(t, e, ns, "bad", bad, 0)

	waitFor(t, 6*time.Minute, "good revision promoted through the AI plugin", func() (bool, string) {
		u := e.WaitRollout(t, ns, "good", func(*unstructured.Unstructured) bool { return true }, time.Second)
		return promoted(good)(u), describe(t, e, ns, "good", good)
	})
	waitFor(t, 6*time.Minute, "panicking revision aborted through the AI plugin", func() (bool, string) {
		u := e.WaitRollout(t, ns, "bad", func(*unstructured.Unstructured) bool { return true }, time.Second)
		return aborted(u), describe(t, e, ns, "bad", bad)
	})
	if p := runPhase(analysisRun(t, e, ns, bad)); p != "Failed" {
		t.Errorf("bad revision's AnalysisRun is %s, want Failed\n%s", p, describe(t, e, ns, "bad", bad))
	}
}
