package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/prom"
	"github.com/fixloop/fixloop/internal/testenv"
	"github.com/fixloop/fixloop/internal/testenv/metricshapes"
	"github.com/fixloop/fixloop/tools"
)

// pausedCanary deploys a demo rollout without HTTP metrics of its own and waits for its canary to pause.
func pausedCanary(t *testing.T, e *testenv.Env, ns, name string) (stableHash, canaryHash string) {
	t.Helper()
	e.DeployDemoRollout(t, ns, testenv.DemoRollout{Name: name, Replicas: 5, Env: map[string]string{"HTTP_METRICS": "off"}})
	stable := e.WaitRollout(t, ns, name, func(u *unstructured.Unstructured) bool {
		h, _, _ := unstructured.NestedString(u.Object, "status", "stableRS")
		return h != ""
	}, 2*time.Minute)
	stableHash, _, _ = unstructured.NestedString(stable.Object, "status", "stableRS")
	e.UpdateDemoRollout(t, ns, name, map[string]string{"COLOR": "green"})
	paused := e.WaitRollout(t, ns, name, func(u *unstructured.Unstructured) bool {
		h, _, _ := unstructured.NestedString(u.Object, "status", "currentPodHash")
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions")
		return h != "" && h != stableHash && len(conds) > 0
	}, 2*time.Minute)
	canaryHash, _, _ = unstructured.NestedString(paused.Object, "status", "currentPodHash")
	return stableHash, canaryHash
}

// publishShape serves a shape's series for every pod of the rollout (as the pod's sidecar or app would)
// and adds them to the test environment's Prometheus as file_sd targets labelled like its pod scrape.
func publishShape(t *testing.T, e *testenv.Env, ns, name, shape, canaryHash string, canaryErr float64) {
	t.Helper()
	pods, err := e.Clientset(t).CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + name})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("pods of %s: %v (%d)", name, err, len(pods.Items))
	}
	type group struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	var groups []group
	for _, p := range pods.Items {
		tr := metricshapes.Traffic{RPS: 20, Latency: 20 * time.Millisecond}
		if p.Labels[kube.PodTemplateHashLabel] == canaryHash {
			tr.ErrorShare = canaryErr
		}
		h, err := metricshapes.NewHandler(shape, metricshapes.Target{Namespace: ns, Pod: p.Name, Service: name}, tr)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		groups = append(groups, group{Targets: []string{strings.TrimPrefix(srv.URL, "http://")}, Labels: map[string]string{"namespace": ns, "pod": p.Name}})
	}
	b, _ := json.Marshal(groups)
	f := filepath.Join(e.Dir, "prometheus", "targets", "shape-"+ns+"-"+name+".json")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(f) })
}

// compare_canary finds HTTP metrics that live only in a mesh sidecar's series, without configuration:
// a 5xx regression visible only there aborts, equal rates promote, and no source at all says so.
func TestCompareCanaryDiscoversMeshMetricsOnCluster(t *testing.T) {
	e := testenv.Get(t)
	ns := e.NewNamespace(t, "msrc")
	kc, err := kube.NewFromConfig(e.RestConfig, "testenv", kube.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := prom.New(e.PrometheusURL, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	d := tools.Deps{Kube: kc, Prom: pc}
	_, badCanary := pausedCanary(t, e, ns, "istio")
	_, goodCanary := pausedCanary(t, e, ns, "linkerd")
	pausedCanary(t, e, ns, "bare")
	publishShape(t, e, ns, "istio", "istio", badCanary, 0.2)
	publishShape(t, e, ns, "linkerd", "linkerd", goodCanary, 0)

	compare := func(rollout string) *tools.CompareCanaryOutput {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := tools.CompareCanary(ctx, d, tools.CompareCanaryInput{Namespace: ns, Rollout: rollout, SinceSeconds: 300})
		if err != nil {
			t.Fatalf("compare_canary %s: %v", rollout, err)
		}
		return out
	}
	names := func(out *tools.CompareCanaryOutput, src string) bool {
		return strings.Contains(strings.Join(out.Notes, "\n"), "HTTP metrics source: "+src) && strings.Contains(out.Analysis, src)
	}
	t.Run("5xx only in istio metrics aborts", func(t *testing.T) {
		var out *tools.CompareCanaryOutput
		waitFor(t, "abort on the mesh's error ratio", 3*time.Minute, func() (bool, string) {
			out = compare("istio")
			return out.Verdict == judge.Abort && names(out, "istio"), fmt.Sprintf("%s: %s; notes %v", out.Verdict, out.RootCause, out.Notes)
		})
		found := false
		for _, ev := range out.Evidence {
			found = found || (ev.Kind == judge.KindMetric && ev.Metric == "error_ratio")
		}
		if !found {
			raw, _ := json.Marshal(out.Evidence)
			t.Errorf("abort without error_ratio evidence: %s", raw)
		}
	})
	t.Run("equal linkerd rates promote", func(t *testing.T) {
		var out *tools.CompareCanaryOutput
		waitFor(t, "a conclusive verdict on linkerd metrics", 3*time.Minute, func() (bool, string) {
			out = compare("linkerd")
			return out.Verdict != judge.Inconclusive && names(out, "linkerd"), fmt.Sprintf("%s: %s; notes %v", out.Verdict, out.RootCause, out.Notes)
		})
		if out.Verdict != judge.Promote {
			t.Errorf("verdict %s (%s), want promote", out.Verdict, out.RootCause)
		}
	})
	t.Run("no source says so", func(t *testing.T) {
		out := compare("bare")
		if !strings.Contains(out.Analysis, "no HTTP metrics source found") || !strings.Contains(strings.Join(out.Notes, "\n"), "no HTTP metrics source found") {
			t.Errorf("analysis %q notes %v: want the missing source named", out.Analysis, out.Notes)
		}
		ms, err := tools.MetricsSources(context.Background(), d, ns, "bare")
		if err != nil || ms.Discovery.Traffic != "" || len(ms.Discovery.Candidates) != len(prom.Sources) {
			t.Fatalf("metrics sources of bare: %+v %v", ms, err)
		}
	})
}
