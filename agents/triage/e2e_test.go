package triage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2aclient"
	"github.com/a2aproject/a2a-go/v2/a2aclient/agentcard"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fixloop/fixloop/internal/freeport"
	"github.com/fixloop/fixloop/internal/github/ghsink"
	"github.com/fixloop/fixloop/internal/github/ghsink/ghsinktest"
	"github.com/fixloop/fixloop/internal/testenv"
	"github.com/fixloop/fixloop/test/fixloopserve"
)

// Six cluster tests at once: the package was the longest of `make test` when they ran two at a time.
func TestMain(m *testing.M) { testenv.MainParallel(m, 6) }

// clusterTest is the start of every test here that uses the shared cluster: each works in namespaces of
// its own with its own fixloop processes, so they run in parallel.
func clusterTest(t *testing.T) *testenv.Env {
	t.Helper()
	e := testenv.Get(t)
	t.Parallel()
	return e
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// fixloopBin is $FIXLOOP_BIN or a binary built once for this test run.
func fixloopBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if b := os.Getenv("FIXLOOP_BIN"); b != "" {
			binPath = b
			return
		}
		dir, err := os.MkdirTemp("", "fixloop-e2e-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "fixloop")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/fixloop/fixloop/cmd/fixloop").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build fixloop: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// asShipped applies the ServiceAccount and roles of manifests/ to the test cluster and returns a
// kubeconfig acting as that ServiceAccount: fixloop serve runs with exactly the rights it ships with.
func asShipped(t *testing.T, e *testenv.Env) string {
	t.Helper()
	var docs []string
	for _, f := range []string{"namespace.yaml", "serviceaccount.yaml", "rbac.yaml"} {
		raw, err := os.ReadFile("../../manifests/" + f)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(raw))
	}
	e.ApplyRBAC(t, []byte(strings.Join(docs, "\n---\n")), "fixloop")
	return e.ImpersonatingKubeconfig(t, "fixloop", "fixloop")
}

// serveProc is a real `fixloop serve` process.
type serveProc struct {
	t        *testing.T
	args     []string
	env      []string
	URL      string
	cmd      *exec.Cmd
	logFile  string
	stateDir string
}

// startServe starts `fixloop serve` on loopback with extra flags.
func startServe(t *testing.T, e *testenv.Env, sinkURL, repo string, extra ...string) *serveProc {
	t.Helper()
	return startServeEnv(t, e, nil, sinkURL, repo, extra...)
}

// startServeEnv is startServe with environment variables for secrets, which have no flag (a parallel
// test cannot set its own process's environment).
func startServeEnv(t *testing.T, e *testenv.Env, env []string, sinkURL, repo string, extra ...string) *serveProc {
	t.Helper()
	port := freePort(t)
	dir := t.TempDir()
	p := &serveProc{t: t, URL: fmt.Sprintf("http://127.0.0.1:%d", port), logFile: filepath.Join(dir, "serve.log"), stateDir: filepath.Join(dir, "state"),
		args: []string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--kubeconfig", asShipped(t, e), "--prometheus-url", e.PrometheusURL,
			"--github-base-url", sinkURL, "--github-repo", repo, "--plugin-route", "verdicts"}}
	p.args = append(append(p.args, "--state-dir", p.stateDir), extra...)
	p.env = append(append(os.Environ(), "FIXLOOP_GITHUB_TOKEN=", "GITHUB_TOKEN="), env...)
	p.start()
	t.Cleanup(func() { p.kill(syscall.SIGTERM) })
	return p
}

func (p *serveProc) start() {
	p.t.Helper()
	logf, err := os.OpenFile(p.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	p.cmd = exec.Command(fixloopBin(p.t), p.args...)
	p.cmd.Env = p.env
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	testenv.WaitFor(p.t, "fixloop serve to answer GET /healthz", 100*time.Millisecond, time.Minute, func() (bool, string) {
		resp, err := http.Get(p.URL + "/healthz")
		if err != nil {
			return false, err.Error() + "; serve log:\n" + p.log()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, fmt.Sprintf("status %d; serve log:\n%s", resp.StatusCode, p.log())
	})
}

func (p *serveProc) kill(sig syscall.Signal) {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(sig)
	p.cmd.Wait()
	p.cmd = nil
}

func (p *serveProc) log() string {
	b, _ := os.ReadFile(p.logFile)
	return string(b)
}

func newSink(t *testing.T) (*ghsink.Server, string) {
	sink, ts := ghsinktest.Start(t, ghsink.Options{})
	return sink, ts.URL + "/"
}

// deployCanary deploys a rollout, updates it with env, waits for the paused canary and for the canary
// pod to have served traffic for a while (logs and Prometheus samples).
func deployCanary(t *testing.T, e *testenv.Env, ns, name string, env map[string]string) string {
	t.Helper()
	e.DeployDemoRollout(t, ns, testenv.DemoRollout{Name: name, Replicas: 5})
	stable := e.WaitRollout(t, ns, name, func(*unstructured.Unstructured) bool { return true }, time.Second)
	stableHash, _, _ := unstructured.NestedString(stable.Object, "status", "stableRS")
	e.UpdateDemoRollout(t, ns, name, env)
	paused := e.WaitRollout(t, ns, name, func(u *unstructured.Unstructured) bool {
		h, _, _ := unstructured.NestedString(u.Object, "status", "currentPodHash")
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions")
		return h != stableHash && len(conds) > 0
	}, 90*time.Second)
	canary, _, _ := unstructured.NestedString(paused.Object, "status", "currentPodHash")
	cs := e.Clientset(t)
	testenv.WaitFor(t, fmt.Sprintf("the canary pod of %s/%s to run", ns, name), 500*time.Millisecond, 60*time.Second, func() (bool, string) {
		l, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "rollouts-pod-template-hash=" + canary})
		if err != nil {
			return false, err.Error()
		}
		return len(l.Items) > 0 && l.Items[0].Status.Phase == "Running", fmt.Sprintf("%d canary pods", len(l.Items))
	})
	return canary
}

// busyTraffic raises a demo Service's generated traffic to 60 rps, so a canary at 20% serves the ~500
// requests the judge needs for full confidence within a short pause (at the default 10 rps a benign
// canary is promoted at confidence ~57, below the templates' gate of 70).
func busyTraffic(t *testing.T, e *testenv.Env, ns, name string) {
	t.Helper()
	patch := []byte(`{"metadata":{"annotations":{"` + testenv.TrafficAnnotation + `":"60"}}}`)
	if _, err := e.Clientset(t).CoreV1().Services(ns).Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

func pluginAnalyze(t *testing.T, srv *serveProc, ns, rollout, repo string) (map[string]any, time.Duration) {
	t.Helper()
	// The operator says the colour differs on purpose (the plugin can only pass extraPrompt).
	return pluginAnalyzeWith(t, srv, ns, rollout, repo, "The new version changes the colour on purpose.\nmask: color=\\w+")
}

// pluginAnalyzeWith sends what the AI metric plugin sends, with extraPrompt extra.
func pluginAnalyzeWith(t *testing.T, srv *serveProc, ns, rollout, repo, extra string) (map[string]any, time.Duration) {
	t.Helper()
	base := srv.URL
	// The plugin probes GET {agentUrl}/ first.
	if resp, err := http.Get(base + "/"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET / = %v, %v", resp, err)
	}
	start := time.Now()
	raw, err := fixloopserve.AnalyzeAsAIPlugin(base, ns, rollout, repo, extra, 5*time.Minute)
	if err != nil {
		t.Fatalf("%v\nserve log:\n%s", err, srv.log())
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("response is not JSON: %s", raw)
	}
	for _, k := range []string{"analysis", "rootCause", "remediation", "promote", "confidence"} {
		if _, ok := out[k]; !ok {
			t.Fatalf("response lacks %q: %s", k, raw)
		}
	}
	if c, ok := out["confidence"].(float64); !ok || c != float64(int(c)) || c < 0 || c > 100 {
		t.Fatalf("confidence must be an integer 0-100: %s", raw)
	}
	return out, time.Since(start)
}

// The Argo Rollouts AI metric plugin's route on the real cluster: a canary that panics and returns 5xx
// is not promoted and gets exactly one issue (plus one comment when analysed again); a colour change is
// promoted.
func TestPluginRouteOnRealCluster(t *testing.T) {
	e := clusterTest(t)
	sink, sinkURL := newSink(t)
	srv := startServe(t, e, sinkURL, "acme/shop")
	ns := e.NewNamespace(t, "triage")

	var wg sync.WaitGroup
	var badHash string
	wg.Add(2)
	go func() {
		defer wg.Done()
		badHash = deployCanary(t, e, ns, "bad", map[string]string{"PANIC_RATE": "0.3", "ERROR_RATE": "0.2"})
	}()
	go func() { defer wg.Done(); deployCanary(t, e, ns, "good", map[string]string{"COLOR": "green"}) }()
	wg.Wait()
	if t.Failed() {
		return
	}
	busyTraffic(t, e, ns, "good")
	soak(t, e, ns, 9)

	bad, took := pluginAnalyzeWith(t, srv, ns, "bad", "acme/shop", "")
	t.Logf("bad canary (%s): %v in %s", badHash, bad, took)
	if bad["promote"] != false {
		t.Fatalf("bad canary promoted: %v\nserve log:\n%s", bad, srv.log())
	}
	if !strings.Contains(strings.ToLower(fmt.Sprint(bad["analysis"], bad["rootCause"])), "panic") {
		t.Errorf("analysis/rootCause do not mention the panic: %v", bad)
	}
	good, took := pluginAnalyze(t, srv, ns, "good", "acme/good")
	t.Logf("good canary: %v in %s", good, took)
	if good["promote"] != true || good["confidence"].(float64) < 70 {
		t.Fatalf("benign colour change not promoted with confidence >= 70: %v\nserve log:\n%s", good, srv.log())
	}

	issues := sink.Issues("acme/shop")
	if len(issues) != 1 {
		t.Fatalf("%d issues after one bad analysis, want 1: %+v", len(issues), issues)
	}
	if !strings.Contains(issues[0].Body, badHash) || !strings.Contains(issues[0].Body, "```") {
		t.Errorf("issue body lacks the canary revision or log examples:\n%s", issues[0].Body)
	}
	again, _ := pluginAnalyzeWith(t, srv, ns, "bad", "acme/shop", "")
	if again["promote"] != false {
		t.Fatalf("second analysis promoted: %v", again)
	}
	if n := len(sink.Issues("acme/shop")); n != 1 {
		t.Fatalf("%d issues after the same failure twice, want 1", n)
	}
	if cs := sink.Comments("acme/shop", issues[0].Number); len(cs) != 1 {
		t.Fatalf("%d comments after the same failure twice, want 1", len(cs))
	}
	t.Logf("issue:\n%s\n%s", issues[0].Title, issues[0].Body)

	t.Run("a2a-go client", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		card, err := agentcard.DefaultResolver.Resolve(ctx, srv.URL) // root card = triage
		if err != nil {
			t.Fatal(err)
		}
		c, err := a2aclient.NewFromCard(ctx, card)
		if err != nil {
			t.Fatal(err)
		}
		msg := a2a.NewMessage(a2a.MessageRoleUser, a2a.NewDataPart(map[string]any{"skill": "analyze_canary", "namespace": ns, "rollout": "bad", "noIssue": true}))
		res, err := c.SendMessage(ctx, &a2a.SendMessageRequest{Message: msg})
		if err != nil {
			t.Fatal(err)
		}
		task := res.(*a2a.Task)
		if task.Status.State != a2a.TaskStateCompleted || len(task.Artifacts) == 0 {
			t.Fatalf("task = %+v", task.Status)
		}
		data := task.Artifacts[0].Parts[0].Data().(map[string]any)
		if data["promote"] != false || data["verdict"] != "abort" || data["canaryHash"] != badHash {
			t.Fatalf("A2A verdict for the bad canary = %v", data)
		}
		var states []string
		var final map[string]any
		for ev, err := range c.SendStreamingMessage(ctx, &a2a.SendMessageRequest{Message: a2a.NewMessage(a2a.MessageRoleUser,
			a2a.NewTextPart(fmt.Sprintf("Analyze canary deployment for rollout 'bad'. Namespace: %s.", ns)))}) {
			if err != nil {
				t.Fatal(err)
			}
			switch v := ev.(type) {
			case *a2a.TaskStatusUpdateEvent:
				if v.Status.Message != nil {
					states = append(states, v.Status.Message.Parts[0].Text())
				}
			case *a2a.TaskArtifactUpdateEvent:
				final = v.Artifact.Parts[0].Data().(map[string]any)
			}
		}
		if final == nil || final["promote"] != false || final["verdict"] != "abort" {
			t.Fatalf("streamed verdict for the bad canary = %v (progress %v)", final, states)
		}
		if len(states) < 3 {
			t.Fatalf("too few progress updates streamed: %v", states)
		}
		t.Logf("streamed progress: %q", states)
	})

	t.Run("a2a-js sdk", func(t *testing.T) {
		res := jsInterop(t, srv.URL, ns, "bad")
		sv, _ := res["sendVerdict"].(map[string]any)
		gv, _ := res["getTaskVerdict"].(map[string]any)
		stv, _ := res["streamVerdict"].(map[string]any)
		if sv["verdict"] != "abort" || gv["verdict"] != "abort" || stv["verdict"] != "abort" || res["streamEvents"].(float64) < 4 {
			t.Fatalf("JS SDK saw %v", res)
		}
		t.Logf("JS SDK: %d stream events, progress %v", int(res["streamEvents"].(float64)), res["progress"])
	})
}

// jsInterop runs the official A2A JS SDK client (test/a2a-interop) against base.
func jsInterop(t *testing.T, base, ns, rollout string) map[string]any {
	t.Helper()
	dir, _ := filepath.Abs("../../test/a2a-interop")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@a2a-js", "sdk")); err != nil {
		out, err := exec.Command("npm", "--prefix", dir, "ci", "--no-audit", "--no-fund").CombinedOutput()
		if err != nil {
			t.Fatalf("npm ci in %s (the A2A JS SDK is needed for this interop test): %v\n%s", dir, err, out)
		}
	}
	cmd := exec.Command("node", filepath.Join(dir, "client.mjs"), base, ns, rollout)
	cmd.Dir = dir
	out, err := cmd.Output()
	var res map[string]any
	if jerr := json.Unmarshal(out, &res); jerr != nil {
		t.Fatalf("JS client output is not JSON (err %v): %s", err, out)
	}
	if err != nil || res["ok"] != true {
		t.Fatalf("JS client failed: %v %v", err, res)
	}
	return res
}
