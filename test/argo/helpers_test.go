// Package argo_test runs fixloop's Argo Rollouts integrations in the real Argo Rollouts controller of the
// local cluster: fixloop's own metric plugin, the argoproj-labs AI metric plugin, and the web provider on
// argoproj/rollouts-demo.
package argo_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fixloop/fixloop/internal/testenv"
	"github.com/fixloop/fixloop/test/fixloopserve"
)

// Every test here is parallel and waits minutes on the controller: all five at once.
func TestMain(m *testing.M) { testenv.MainParallel(m, 5) }

var (
	templateGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "analysistemplates"}
	runGVR      = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "analysisruns"}
)

// serve is a real `fixloop serve` process (test/fixloopserve) reading the test cluster.
type serve struct {
	URL string
	// CAFile verifies the server's certificate when it serves HTTPS (startServeTLS).
	CAFile string
	*fixloopserve.Server
}

func startServe(t *testing.T, e *testenv.Env, promURL string, extra ...string) *serve {
	t.Helper()
	args := append([]string{"--kubeconfig", e.Kubeconfig, "--prometheus-url", promURL}, extra...)
	s := fixloopserve.StartArgs(t, args, "FIXLOOP_LLM=none")
	return &serve{URL: s.Base, Server: s}
}

// startServeTLS serves HTTPS with a certificate signed by the test environment's CA (CAFile).
func startServeTLS(t *testing.T, e *testenv.Env, promURL string, extra ...string) *serve {
	t.Helper()
	cert, key, ca := e.ServingCert(t, "fixloop")
	args := append([]string{"--kubeconfig", e.Kubeconfig, "--prometheus-url", promURL, "--tls-cert", cert, "--tls-key", key}, extra...)
	s := fixloopserve.StartTLS(t, ca, args, "FIXLOOP_LLM=none")
	return &serve{URL: s.Base, CAFile: ca, Server: s}
}

// blackhole accepts connections and never answers: a Prometheus that makes every analysis slow.
func blackhole(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + l.Addr().String()
}

// waitFor is testenv.WaitFor polling every 500 ms (a controller step away).
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	testenv.WaitFor(t, what, 500*time.Millisecond, timeout, cond)
}

// createTemplate creates an AnalysisTemplate with one metric.
func createTemplate(t *testing.T, e *testenv.Env, ns, name string, metric map[string]any) {
	t.Helper()
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     map[string]any{"metrics": []any{metric}},
	}}
	if _, err := e.Dynamic(t).Resource(templateGVR).Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating AnalysisTemplate %s/%s: %v", ns, name, err)
	}
}

// analysisSteps: 20% canary, a timed pause, then the analysis (for a rollout whose verdict does not
// depend on how much data there is; the others use indefiniteAnalysisSteps).
func analysisSteps(template string, soak string) []map[string]any {
	return []map[string]any{
		{"setWeight": int64(20)},
		{"pause": map[string]any{"duration": soak}},
		{"analysis": map[string]any{"templates": []any{map[string]any{"templateName": template}}}},
	}
}

// canaryOf updates the rollout and returns the new revision's pod-template hash once it is the current one.
func canaryOf(t *testing.T, e *testenv.Env, ns, name string, env map[string]string) string {
	t.Helper()
	stable := e.WaitRollout(t, ns, name, func(*unstructured.Unstructured) bool { return true }, time.Second)
	stableHash, _, _ := unstructured.NestedString(stable.Object, "status", "stableRS")
	e.UpdateDemoRollout(t, ns, name, env)
	u := e.WaitRollout(t, ns, name, func(u *unstructured.Unstructured) bool {
		h, _, _ := unstructured.NestedString(u.Object, "status", "currentPodHash")
		return h != "" && h != stableHash
	}, 2*time.Minute)
	h, _, _ := unstructured.NestedString(u.Object, "status", "currentPodHash")
	return h
}

func promoted(hash string) func(*unstructured.Unstructured) bool {
	return func(u *unstructured.Unstructured) bool {
		stable, _, _ := unstructured.NestedString(u.Object, "status", "stableRS")
		phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		return stable == hash && phase == "Healthy"
	}
}

func aborted(u *unstructured.Unstructured) bool {
	a, _, _ := unstructured.NestedBool(u.Object, "status", "abort")
	return a
}

func pausedInconclusive(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions")
	for _, c := range conds {
		if m, _ := c.(map[string]any); m["reason"] == "InconclusiveAnalysisRun" {
			return true
		}
	}
	return false
}

// analysisRun returns the AnalysisRun of the rollout's canary revision hash (nil while there is none).
func analysisRun(t *testing.T, e *testenv.Env, ns, hash string) *unstructured.Unstructured {
	t.Helper()
	l, err := e.Dynamic(t).Resource(runGVR).Namespace(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "rollouts-pod-template-hash=" + hash})
	if err != nil || len(l.Items) == 0 {
		return nil
	}
	return &l.Items[len(l.Items)-1]
}

// measurements lists the phases and messages of a run's measurements.
func measurements(run *unstructured.Unstructured) (phases []string, messages []string, metadata []map[string]any) {
	results, _, _ := unstructured.NestedSlice(run.Object, "status", "metricResults")
	for _, r := range results {
		ms, _, _ := unstructured.NestedSlice(r.(map[string]any), "measurements")
		for _, m := range ms {
			mm := m.(map[string]any)
			p, _ := mm["phase"].(string)
			msg, _ := mm["message"].(string)
			md, _ := mm["metadata"].(map[string]any)
			phases, messages, metadata = append(phases, p), append(messages, msg), append(metadata, md)
		}
	}
	return
}

func runPhase(run *unstructured.Unstructured) string {
	if run == nil {
		return ""
	}
	p, _, _ := unstructured.NestedString(run.Object, "status", "phase")
	return p
}

// describe is the run and rollout state for a failure message.
func describe(t *testing.T, e *testenv.Env, ns, rollout, hash string) string {
	u := e.WaitRollout(t, ns, rollout, func(*unstructured.Unstructured) bool { return true }, time.Second)
	status, _, _ := unstructured.NestedMap(u.Object, "status")
	var b strings.Builder
	fmt.Fprintf(&b, "rollout %s/%s status: %v\n", ns, rollout, status)
	if run := analysisRun(t, e, ns, hash); run != nil {
		p, m, md := measurements(run)
		fmt.Fprintf(&b, "analysis run %s: phase %s, measurements %v %q %v", run.GetName(), runPhase(run), p, m, md)
	}
	return b.String()
}

// requirePlugin fails when the controller did not load the plugin.
func requirePlugin(t *testing.T, e *testenv.Env, name string) {
	t.Helper()
	if e.MetricPlugin(name) == "" {
		t.Fatalf("the Argo controller of the test environment did not load metric plugin %s: `make testenv-up` builds and registers it (make plugin)", name)
	}
}

// sharedDir is ../shared beside the project root.
func sharedDir(sub string) string {
	abs, _ := filepath.Abs(filepath.Join("..", "..", "..", "shared", sub))
	return abs
}

// withToken configures fixloop serve to require a static bearer token and returns the serve flags and
// the path of a file holding the token (the plugin's tokenFile).
func withToken(t *testing.T) (flags []string, tokenFile string) {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	token := hex.EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	dir := t.TempDir()
	authFile, tokenFile := filepath.Join(dir, "auth.yaml"), filepath.Join(dir, "token")
	entry := fmt.Sprintf("tokens:\n- name: argo-rollouts\n  sha256: %s\n  scopes: [read, write, issue]\n", hex.EncodeToString(sum[:]))
	if err := os.WriteFile(authFile, []byte(entry), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"--auth-file", authFile}, tokenFile
}

// deploy creates a demo rollout and raises its Service's generated traffic, so a canary at 20% soon
// serves what a confident verdict needs (the tests wait for it: resumeWithData).
func deploy(t *testing.T, e *testenv.Env, ns string, r testenv.DemoRollout) {
	t.Helper()
	e.DeployDemoRollout(t, ns, r)
	boostTraffic(t, e, ns, r.Name)
}

func boostTraffic(t *testing.T, e *testenv.Env, ns, name string) {
	t.Helper()
	patch := []byte(`{"metadata":{"annotations":{"` + testenv.TrafficAnnotation + `":"60"}}}`)
	if _, err := e.Clientset(t).CoreV1().Services(ns).Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("raising the traffic of %s/%s: %v", ns, name, err)
	}
}
