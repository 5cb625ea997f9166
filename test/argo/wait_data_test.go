package argo_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/prom"
	"github.com/fixloop/fixloop/internal/testenv"
)

// What a confident verdict needs from the canary, waited for instead of a timed pause (on a loaded
// machine a fixed pause gave the canary ~100 requests and a promote at confidence 58-60, under the
// templates' gate of 70). The judge's coverage is full at 10x its minimum exposure per side: 10 x 50
// requests (demo app, counted by Prometheus) or 10 x 20 log records (rollouts-demo, no metrics).
const (
	canaryRequestsWanted = 550
	// canaryLogLinesWanted: rollouts-demo request lines for a promote at full coverage.
	canaryLogLinesWanted = 220
	// canaryLogLinesToCompare: enough lines for the judge to compare sides (its minimum is 20 records);
	// a canary answering in 2 s logs too slowly to wait for full coverage, and an abort does not need it.
	canaryLogLinesToCompare = 40
	// Points of the canary's restart series in a 5 s-step range query (the judge needs 5 per metric).
	canarySamplesWanted = 8
)

// pausedAtStep: the rollout waits at an indefinite pause step (the test resumes it once data is there).
func pausedAtStep(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions")
	for _, c := range conds {
		if m, _ := c.(map[string]any); m["reason"] == "CanaryPauseStep" {
			return true
		}
	}
	return false
}

// indefiniteAnalysisSteps: 20% canary, a pause the test ends (resumeWithData), then the analysis.
func indefiniteAnalysisSteps(template string) []map[string]any {
	return []map[string]any{
		{"setWeight": int64(20)},
		{"pause": map[string]any{}},
		{"analysis": map[string]any{"templates": []any{map[string]any{"templateName": template}}}},
	}
}

// resumeWithData waits until the canary revision hash has served enough for a confident verdict (see
// the constants; logLines > 0: that many rollouts-demo request lines per canary pod instead of
// Prometheus requests), then promotes past the pause as `kubectl argo rollouts promote` does, which
// starts the analysis.
func resumeWithData(t *testing.T, e *testenv.Env, ns, rollout, hash string, logLines int) {
	t.Helper()
	e.WaitRollout(t, ns, rollout, pausedAtStep, 3*time.Minute)
	waitCanaryData(t, e, ns, hash, logLines)
	promoteStep(t, e, ns, rollout)
}

// promoteStep ends the current pause step, as `kubectl argo rollouts promote` does.
func promoteStep(t *testing.T, e *testenv.Env, ns, rollout string) {
	t.Helper()
	kc, err := kube.NewFromConfig(e.RestConfig, "testenv", kube.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, err := kc.GetRollout(ctx, ns, rollout)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := kube.PlanPromote(r, false)
	if err != nil {
		t.Fatalf("promote %s/%s past its pause: %v", ns, rollout, err)
	}
	if _, err := kc.PatchRollout(ctx, ns, rollout, plan.StatusPatch, plan.SpecPatch); err != nil {
		t.Fatal(err)
	}
}

// waitCanaryData waits until Prometheus holds enough restart samples of the canary pods and they
// served enough requests (Prometheus counter, or logLines request lines in each pod's log).
func waitCanaryData(t *testing.T, e *testenv.Env, ns, hash string, logLines int) {
	t.Helper()
	pc, err := prom.New(e.PrometheusURL, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 6*time.Minute, "canary "+hash+" data for a confident verdict", func() (bool, string) {
		pods := canaryPodNames(t, e, ns, hash)
		if len(pods) == 0 {
			return false, "no canary pod"
		}
		sel := fmt.Sprintf(`namespace=%q,pod=~"^(%s)$"`, ns, strings.Join(pods, "|"))
		if n := rangePoints(pc, "max(kube_pod_container_status_restarts_total{"+sel+"})"); n < canarySamplesWanted {
			return false, fmt.Sprintf("%d restart samples of %v in Prometheus, want %d", n, pods, canarySamplesWanted)
		}
		if logLines > 0 {
			return logRequestsAtLeast(e, ns, pods, logLines)
		}
		n := instant(pc, "sum(increase(http_requests_total{"+sel+"}[10m]))")
		return n >= canaryRequestsWanted, fmt.Sprintf("%.0f canary requests in Prometheus, want %d", n, canaryRequestsWanted)
	})
}

func canaryPodNames(t *testing.T, e *testenv.Env, ns, hash string) []string {
	t.Helper()
	l, err := e.Clientset(t).CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "rollouts-pod-template-hash=" + hash})
	if err != nil {
		return nil
	}
	var names []string
	for _, p := range l.Items {
		names = append(names, p.Name)
	}
	return names
}

// logRequestsAtLeast: every pod's log holds n rollouts-demo request lines ("<date> <status> - <colour>").
func logRequestsAtLeast(e *testenv.Env, ns string, pods []string, n int) (bool, string) {
	for _, p := range pods {
		b, err := os.ReadFile(testenv.PodLogPath(e.Dir, ns, p, testenv.DemoContainer))
		if got := strings.Count(string(b), " - "); err != nil || got < n {
			return false, fmt.Sprintf("%s logged %d requests, want %d", p, got, n)
		}
	}
	return true, ""
}

// rangePoints counts the points of a query over the last 10 minutes at a 5 s step (0 on error).
func rangePoints(pc *prom.HTTPClient, q string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	now := time.Now()
	v, _, err := pc.QueryRange(ctx, q, v1.Range{Start: now.Add(-10 * time.Minute), End: now, Step: 5 * time.Second})
	m, ok := v.(model.Matrix)
	if err != nil || !ok {
		return 0
	}
	n := 0
	for _, s := range m {
		n += len(s.Values)
	}
	return n
}

// instant is the sum of a query's vector now (0 on error or no data).
func instant(pc *prom.HTTPClient, q string) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, _, err := pc.Query(ctx, q, time.Now())
	vec, ok := v.(model.Vector)
	if err != nil || !ok {
		return 0
	}
	sum := 0.0
	for _, s := range vec {
		sum += float64(s.Value)
	}
	return sum
}
