package tools_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fixloop/fixloop/internal/testenv"
	"github.com/fixloop/fixloop/tools"
)

// The cluster tests (compare_canary, metrics shapes, MCP, completions, progress) run all at once.
func TestMain(m *testing.M) { testenv.MainParallel(m, 5) }

func clusterEnv(t testing.TB, e *testenv.Env) []string {
	return cleanEnv(t, "KUBECONFIG="+e.Kubeconfig, "FIXLOOP_PROMETHEUS_URL="+e.PrometheusURL)
}

func status(u *unstructured.Unstructured, f ...string) (string, int64, bool) {
	s, _, _ := unstructured.NestedString(u.Object, append([]string{"status"}, f...)...)
	i, _, _ := unstructured.NestedInt64(u.Object, append([]string{"status"}, f...)...)
	b, _, _ := unstructured.NestedBool(u.Object, append([]string{"status"}, f...)...)
	return s, i, b
}

// The five cluster tools, called through real MCP clients (stdio and HTTP) against the real control
// plane, Argo Rollouts controller and Prometheus of the test environment.
func TestClusterToolsThroughMCP(t *testing.T) {
	e := testenv.Get(t)
	t.Parallel() // a namespace of its own; it waits on the controller and scrapes
	ns := e.NewNamespace(t, "mcp")
	e.DeployDemoRollout(t, ns, testenv.DemoRollout{Name: "web", Replicas: 5})
	stable := e.WaitRollout(t, ns, "web", func(*unstructured.Unstructured) bool { return true }, time.Second)
	stableHash, _, _ := status(stable, "stableRS")
	e.UpdateDemoRollout(t, ns, "web", map[string]string{"COLOR": "green"})
	paused := e.WaitRollout(t, ns, "web", func(u *unstructured.Unstructured) bool {
		h, _, _ := status(u, "currentPodHash")
		_, step, _ := status(u, "currentStepIndex")
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions")
		return h != stableHash && step == 1 && len(conds) > 0
	}, 90*time.Second)
	canaryHash, _, _ := status(paused, "currentPodHash")

	env := clusterEnv(t, e)
	base := httpServer(t, env)
	clients := map[string]*client.Client{"stdio": stdioClient(t, env, ""), "http": httpClient(t, base, "")}

	// The canary pod(s): what the controller created for the new revision.
	cs := e.Clientset(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitFor(t, "one canary pod running", 60*time.Second, func() (bool, string) {
		l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "rollouts-pod-template-hash=" + canaryHash})
		if err != nil {
			return false, err.Error()
		}
		running := 0
		for _, p := range l.Items {
			if p.Status.Phase == "Running" {
				running++
			}
		}
		return running == 1, fmt.Sprintf("%d running of %d", running, len(l.Items))
	})
	canaryPods, _ := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "rollouts-pod-template-hash=" + canaryHash})
	stablePods, _ := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "rollouts-pod-template-hash=" + stableHash})
	nStable := len(stablePods.Items)
	if nStable == 0 {
		t.Fatalf("no stable pods of hash %s", stableHash)
	}
	for _, p := range canaryPods.Items {
		e.AppendPodLog(t, ns, p.Name, "marker-"+p.Name+" payment failed token=Bearer abcdefghijklmnopqrstuvwxyz0123456789")
	}

	for name, c := range clients {
		t.Run(name+"/get_architecture", func(t *testing.T) {
			var out tools.GetArchitectureOutput
			callOK(t, c, "get_architecture", map[string]any{"namespace": ns}, &out)
			var web *tools.WorkloadInfo
			for i := range out.Workloads {
				if out.Workloads[i].Kind == "Rollout" && out.Workloads[i].Name == "web" {
					web = &out.Workloads[i]
				}
			}
			if web == nil || web.Rollout == nil {
				t.Fatalf("rollout web missing from %+v", out.Workloads)
			}
			r := web.Rollout
			if r.StableHash != stableHash || r.CanaryHash != canaryHash || r.CanaryPods != 1 || r.StablePods != nStable || !r.Paused || r.CurrentStepIndex == nil || *r.CurrentStepIndex != 1 {
				t.Errorf("rollout summary %+v (step %v): want stable %s (%d pods), canary %s (1 pod), paused at step 1", r, r.CurrentStepIndex, stableHash, nStable, canaryHash)
			}
			if r.SetWeight == nil || *r.SetWeight != 20 {
				t.Errorf("setWeight = %v, want 20", r.SetWeight)
			}
			found := false
			for _, s := range out.Services {
				if s.Name == "web" && strings.Contains(strings.Join(s.Targets, ","), "Rollout/web") {
					found = true
				}
			}
			if !found {
				t.Errorf("service web → Rollout/web wiring missing: %+v", out.Services)
			}
			var detail tools.GetArchitectureOutput
			callOK(t, c, "get_architecture", map[string]any{"namespace": ns, "workload": "rollout/web", "limit": 2}, &detail)
			if len(detail.Pods) != 2 || detail.Next == "" {
				t.Errorf("workload detail page: %d pods, next %q; want 2 and a next page", len(detail.Pods), detail.Next)
			}
		})
		t.Run(name+"/get_logs", func(t *testing.T) {
			var out tools.GetLogsOutput
			callOK(t, c, "get_logs", map[string]any{"namespace": ns, "rollout": "web", "role": "canary", "grep": "marker-"}, &out)
			if len(out.Pods) != len(canaryPods.Items) {
				t.Fatalf("logs from %d pods, want every canary pod (%d): %+v", len(out.Pods), len(canaryPods.Items), out.Pods)
			}
			for _, p := range out.Pods {
				joined := strings.Join(p.Lines, "\n")
				if p.Role != "canary" || !strings.Contains(joined, "marker-"+p.Pod) {
					t.Errorf("pod %s (role %q): lines %q lack its marker", p.Pod, p.Role, joined)
				}
				if strings.Contains(joined, "abcdefghijklmnopqrstuvwxyz0123456789") {
					t.Errorf("secret not redacted: %q", joined)
				}
			}
			var all tools.GetLogsOutput
			callOK(t, c, "get_logs", map[string]any{"namespace": ns, "rollout": "web", "maxLines": 12}, &all)
			if len(all.Pods) != nStable+1 {
				t.Errorf("rollout logs from %d pods, want %d stable + 1 canary", len(all.Pods), nStable)
			}
			if all.Returned > 12 || (all.TotalLines > all.Returned && !all.Truncated) {
				t.Errorf("budget: returned %d of %d lines, truncated=%v %q", all.Returned, all.TotalLines, all.Truncated, all.Truncation)
			}
			var sum tools.GetLogsOutput
			callOK(t, c, "get_logs", map[string]any{"namespace": ns, "rollout": "web", "summarize": true}, &sum)
			if len(sum.Templates) == 0 {
				t.Errorf("summarize returned no templates")
			}
		})
		t.Run(name+"/get_metrics", func(t *testing.T) {
			var out tools.GetMetricsOutput
			waitFor(t, "request rate of the canary in Prometheus", 90*time.Second, func() (bool, string) {
				out = tools.GetMetricsOutput{}
				callOK(t, c, "get_metrics", map[string]any{"namespace": ns, "rollout": "web", "role": "canary", "window": "5m"}, &out)
				for _, m := range out.Metrics {
					if m.Name == "request_rate" && m.Status == "ok" && m.Last != nil && *m.Last > 0 {
						return true, ""
					}
				}
				return false, fmt.Sprintf("%+v", out.Metrics)
			})
			if out.Pods != 1 {
				t.Errorf("canary metrics over %d pods, want 1", out.Pods)
			}
			byName := map[string]tools.MetricResult{}
			for _, m := range out.Metrics {
				byName[m.Name] = m
			}
			for _, n := range []string{"cpu_cores", "memory_bytes", "memory_limit_pct", "cpu_limit_pct", "latency_p95"} {
				if byName[n].Status != "ok" {
					t.Errorf("%s: status %s %s (query %s)", n, byName[n].Status, byName[n].Error, byName[n].Query)
				}
			}
			var raw tools.GetMetricsOutput
			callOK(t, c, "get_metrics", map[string]any{"promql": `fixloop_no_such_metric{namespace="` + ns + `"}`, "window": "5m"}, &raw)
			if len(raw.Missing) != 1 || raw.Metrics[0].Status != "missing" {
				t.Errorf("an absent series must be reported missing, got %+v", raw)
			}
		})
	}

	// dryRun changes nothing; promote moves the real rollout on; abort makes the controller scale the canary down.
	t.Run("http/promote_dry_run", func(t *testing.T) {
		var out tools.RolloutActionOutput
		callOK(t, clients["http"], "promote_rollout", map[string]any{"namespace": ns, "name": "web", "dryRun": true}, &out)
		if out.Changed || len(out.Patches) == 0 {
			t.Errorf("dry run: %+v", out)
		}
		u := e.WaitRollout(t, ns, "web", func(*unstructured.Unstructured) bool { return true }, time.Second)
		if _, step, _ := status(u, "currentStepIndex"); step != 1 {
			t.Errorf("dry run moved the rollout to step %d", step)
		}
	})
	t.Run("stdio/promote_rollout", func(t *testing.T) {
		var out tools.RolloutActionOutput
		callOK(t, clients["stdio"], "promote_rollout", map[string]any{"namespace": ns, "name": "web"}, &out)
		if !out.Changed {
			t.Errorf("promote: %+v", out)
		}
		e.WaitRollout(t, ns, "web", func(u *unstructured.Unstructured) bool {
			_, step, _ := status(u, "currentStepIndex")
			return step == 3
		}, 90*time.Second)
	})
	t.Run("http/abort_rollout", func(t *testing.T) {
		var out tools.RolloutActionOutput
		callOK(t, clients["http"], "abort_rollout", map[string]any{"namespace": ns, "name": "web"}, &out)
		if !out.Changed || !out.Rollout.Aborted {
			t.Errorf("abort: %+v", out)
		}
		e.WaitRollout(t, ns, "web", func(u *unstructured.Unstructured) bool {
			phase, _, _ := status(u, "phase")
			_, _, aborted := status(u, "abort")
			l, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "rollouts-pod-template-hash=" + canaryHash})
			return aborted && phase == "Degraded" && err == nil && len(l.Items) == 0
		}, 90*time.Second)
		// Idempotent: a second abort changes nothing; promote of an aborted rollout is refused.
		callOK(t, clients["stdio"], "abort_rollout", map[string]any{"namespace": ns, "name": "web"}, &out)
		if out.Changed {
			t.Errorf("second abort changed the rollout: %+v", out)
		}
		r := call(t, clients["stdio"], "promote_rollout", map[string]any{"namespace": ns, "name": "web"})
		if !r.IsError || !strings.Contains(text(r), "aborted") {
			t.Errorf("promote of an aborted rollout: isError=%v %q", r.IsError, text(r))
		}
	})
	t.Run("errors", func(t *testing.T) {
		c := clients["http"]
		r := call(t, c, "promote_rollout", map[string]any{"namespace": ns, "name": "nope"})
		if !r.IsError || !strings.Contains(text(r), "not found") {
			t.Errorf("missing rollout: %q", text(r))
		}
		r = call(t, c, "get_logs", map[string]any{"namespace": ns, "pod": "nope"})
		if !r.IsError || !strings.Contains(text(r), "not found") {
			t.Errorf("missing pod: %q", text(r))
		}
	})
}

// An unreachable API server or Prometheus is a clear tool error, quickly, never a hang.
func TestUnreachableBackends(t *testing.T) {
	dir := t.TempDir()
	kc := dir + "/kubeconfig"
	writeFile(t, kc, `apiVersion: v1
kind: Config
clusters: [{name: dead, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: dead, context: {cluster: dead, user: u}}]
current-context: dead
`)
	env := cleanEnv(t, "KUBECONFIG="+kc, "FIXLOOP_PROMETHEUS_URL=http://127.0.0.1:1")
	c := stdioClient(t, env, "")
	start := time.Now()
	for tool, args := range map[string]map[string]any{
		"get_architecture": {"namespace": "x"},
		"get_metrics":      {"promql": "up"},
	} {
		r := call(t, c, tool, args)
		if !r.IsError || !strings.Contains(text(r), "unreachable") && !strings.Contains(text(r), "did not answer") {
			t.Errorf("%s: isError=%v %q, want an unreachable error", tool, r.IsError, text(r))
		}
	}
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("unreachable backends took %s to report", d)
	}
}

// waitFor is testenv.WaitFor polling every second (a Prometheus scrape or a controller step away).
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	testenv.WaitFor(t, what, time.Second, timeout, cond)
}
