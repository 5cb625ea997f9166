package triage_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fixloop/fixloop/internal/github/ghsink"
	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/store"
	"github.com/fixloop/fixloop/internal/testenv"
)

const leaseDuration = 4 * time.Second

// startMonitorServe starts `fixloop serve --monitor` as identity under the ClusterRole of manifests/,
// sharing stateDir with its peers (the replicas share one database in these tests, as they would share
// Postgres in a cluster).
func startMonitorServe(t *testing.T, e *testenv.Env, sinkURL, repo, stateDir, identity, leaseNS string, extra ...string) *serveProc {
	t.Helper()
	return startMonitorServeAs(t, e, asShippedWithLease(t, e, leaseNS), sinkURL, repo, stateDir, identity, leaseNS, extra...)
}

// startMonitorServeAs is startMonitorServe acting through kubeconfig.
func startMonitorServeAs(t *testing.T, e *testenv.Env, kubeconfig, sinkURL, repo, stateDir, identity, leaseNS string, extra ...string) *serveProc {
	t.Helper()
	port := freePort(t)
	p := &serveProc{t: t, URL: fmt.Sprintf("http://127.0.0.1:%d", port), logFile: filepath.Join(t.TempDir(), identity+".log"), stateDir: stateDir,
		args: append([]string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--kubeconfig", kubeconfig, "--prometheus-url", e.PrometheusURL,
			"--github-base-url", sinkURL, "--github-repo", repo, "--state-dir", stateDir, "--monitor", "--monitor-identity", identity,
			"--monitor-lease-namespace", leaseNS, "--monitor-lease-duration", leaseDuration.String()}, extra...)}
	p.env = append(os.Environ(), "FIXLOOP_GITHUB_TOKEN=", "GITHUB_TOKEN=")
	p.start()
	t.Cleanup(func() { p.kill(syscall.SIGTERM) })
	return p
}

// leaseRBAC matches the documents of manifests/rbac.yaml that grant the monitor's Lease (a Role and its
// RoleBinding, in fixloop's own namespace when deployed).
var leaseRBAC = regexp.MustCompile(`(?m)^kind: Role(Binding)?$`)

// asShippedWithLease is asShipped with manifests/' Lease Role and RoleBinding applied in leaseNS too: the
// shipped monitor elects on a Lease in its own namespace, a test's on one in its own namespace (so
// parallel tests do not contend for one Lease), under the same rules.
func asShippedWithLease(t *testing.T, e *testenv.Env, leaseNS string) string {
	t.Helper()
	kubeconfig := asShipped(t, e)
	e.ApplyRBAC(t, []byte(leaseDocs(t)), leaseNS)
	return kubeconfig
}

// leaseDocs is the monitor Lease's Role and RoleBinding from manifests/rbac.yaml.
func leaseDocs(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../manifests/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	for _, doc := range strings.Split(string(raw), "\n---") {
		if leaseRBAC.MatchString(doc) {
			docs = append(docs, doc)
		}
	}
	if len(docs) != 2 {
		t.Fatalf("manifests/rbac.yaml has %d Role/RoleBinding documents, want the monitor Lease's two", len(docs))
	}
	return strings.Join(docs, "\n---\n")
}

// asNamespaced is fixloop under the namespaced variant (manifests/namespaced, no cluster-wide rights):
// its Role and the Lease's Role bound in ns only, for a ServiceAccount of its own (fixloop-scoped/fixloop)
// that the ClusterRole binding other tests apply does not name. It returns a kubeconfig acting as it.
func asNamespaced(t *testing.T, e *testenv.Env, ns string) string {
	t.Helper()
	role, err := os.ReadFile("../../manifests/namespaced/role.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.NewReplacer("namespace: shop", "namespace: "+ns, "namespace: fixloop", "namespace: fixloop-scoped").
		Replace(string(role) + "\n---\n" + leaseDocs(t))
	e.ApplyRBAC(t, []byte(docs), ns)
	return e.ImpersonatingKubeconfig(t, "fixloop-scoped", "fixloop")
}

// leaderOf reads fixloop_monitor_leader from /metrics: whether this process leads and who holds the lease.
func leaderOf(p *serveProc) (leading bool, holder string) {
	resp, err := http.Get(p.URL + "/metrics")
	if err != nil {
		return false, ""
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "fixloop_monitor_leader{") {
			continue
		}
		if i := strings.Index(line, `holder="`); i >= 0 {
			holder = line[i+8:]
			holder = holder[:strings.IndexByte(holder, '"')]
		}
		return strings.HasSuffix(line, " 1"), holder
	}
	return false, ""
}

// waitFor is testenv.WaitFor for conditions with nothing to say while they do not hold.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, what, 200*time.Millisecond, timeout, func() (bool, string) { return cond(), "" })
}

func optIn(t *testing.T, e *testenv.Env, ns, name string) {
	t.Helper()
	patch := []byte(`{"metadata":{"annotations":{"fixloop.dev/monitor":"true"}}}`)
	if _, err := e.Dynamic(t).Resource(kube.RolloutsGVR).Namespace(ns).Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// issuesFor lists the sink's issues whose title names the workload.
func issuesFor(sink *ghsink.Server, repo, workload string) []ghsink.Issue {
	var out []ghsink.Issue
	for _, is := range sink.Issues(repo) {
		if strings.Contains(is.Title, "rollout/"+workload+":") {
			out = append(out, is)
		}
	}
	return out
}

// The monitor on the real cluster, two replicas: one leader is elected; killing it with SIGKILL in the
// middle of a run hands the lease over within about the lease duration and the new leader finishes the
// run at its unfinished step. A memory leak (slope), a sustained 5xx rate and a crash loop each get one
// issue with the evidence and the plan; a single short error spike gets none.
func TestMonitorDetectsAndHandsOverOnRealCluster(t *testing.T) {
	e := clusterTest(t)
	sink, sinkURL := newSink(t)
	ns := e.NewNamespace(t, "monitor")
	workloads := map[string]map[string]string{
		"leak":   {"LEAK_MB_PER_MIN": "40"},
		"errors": {"ERROR_RATE": "0.3"},
		"crash":  {"CRASH_AFTER": "15s"},
		"spike":  {"ERROR_BURST": "45s/3s"},
	}
	for name, env := range workloads {
		e.DeployDemoRollout(t, ns, testenv.DemoRollout{Name: name, Replicas: 1, Env: env})
		optIn(t, e, ns, name)
	}
	state := filepath.Join(t.TempDir(), "state")
	// The watcher has its own test; here it would triage other tests' rollouts cluster-wide.
	args := []string{"--monitor-interval", "30s", "--monitor-window", "2m", "--monitor-watch-rollouts=false"}
	procs := map[string]*serveProc{
		"replica-a": startMonitorServe(t, e, sinkURL, "acme/shop", state, "replica-a", ns, args...),
		"replica-b": startMonitorServe(t, e, sinkURL, "acme/shop", state, "replica-b", ns, args...),
	}
	var leader string
	waitFor(t, "a leader", 30*time.Second, func() bool {
		for id, p := range procs {
			if ok, _ := leaderOf(p); ok {
				leader = id
			}
		}
		return leader != ""
	})
	// Every replica learns the holder at its next attempt to acquire (a fraction of the lease duration).
	for id, p := range procs {
		waitFor(t, id+" to see "+leader+" as the holder", 2*leaseDuration, func() bool {
			ok, holder := leaderOf(p)
			return holder == leader && ok == (id == leader)
		})
	}
	st, err := store.Open(context.Background(), state)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	// Kill the leader in the middle of a run: some steps done, the run not finished.
	var killed store.MonitorRun
	var doneBefore map[string]int
	waitFor(t, "a run in progress", 2*time.Minute, func() bool {
		runs, _ := st.UnfinishedMonitorRuns(context.Background())
		for _, r := range runs {
			steps, _ := st.ListMonitorSteps(context.Background(), r.ID)
			done := map[string]int{}
			for _, s := range steps {
				if s.Status == store.MonitorDone {
					done[s.Name] = s.Attempts
				}
			}
			if r.Owner == leader && len(done) > 0 {
				procs[leader].kill(syscall.SIGKILL)
				killed, doneBefore = r, done
				return true
			}
		}
		return false
	})
	killedAt := time.Now()
	if r, _ := st.GetMonitorRun(context.Background(), killed.ID); r.Status != store.MonitorRunning {
		t.Fatalf("run %s finished before the kill landed (%s); cannot check the resume", killed.ID, r.Status)
	}
	var survivor string
	for id := range procs {
		if id != leader {
			survivor = id
		}
	}
	waitFor(t, "the survivor to take the lease", 30*time.Second, func() bool { ok, _ := leaderOf(procs[survivor]); return ok })
	handover := time.Since(killedAt)
	t.Logf("leader %s killed mid-run (steps done: %v); %s took over after %s (lease %s)", leader, doneBefore, survivor, handover.Round(100*time.Millisecond), leaseDuration)
	if handover > 2*leaseDuration+2*time.Second {
		t.Errorf("hand-over took %s, want about the lease duration %s", handover, leaseDuration)
	}
	waitFor(t, "the killed run to be resumed and finished", time.Minute, func() bool {
		r, _ := st.GetMonitorRun(context.Background(), killed.ID)
		return r.Status != store.MonitorRunning
	})
	r, _ := st.GetMonitorRun(context.Background(), killed.ID)
	steps, _ := st.ListMonitorSteps(context.Background(), killed.ID)
	if r.Status != store.MonitorDone || r.Owner != survivor || len(steps) != 7 {
		t.Fatalf("resumed run = %+v with %d steps", r, len(steps))
	}
	for _, s := range steps {
		if n, ok := doneBefore[s.Name]; ok && s.Attempts != n {
			t.Errorf("step %s was done before the kill but ran again (attempts %d -> %d)", s.Name, n, s.Attempts)
		}
	}

	waitFor(t, "issues for the leak, the 5xx rate and the crash loop", 8*time.Minute, func() bool {
		return len(issuesFor(sink, "acme/shop", "leak")) > 0 && len(issuesFor(sink, "acme/shop", "errors")) > 0 && len(issuesFor(sink, "acme/shop", "crash")) > 0
	})
	// One more run after the last issue: nothing is filed twice.
	runsBefore, _ := st.ListMonitorRuns(context.Background(), 1)
	waitFor(t, "one more finished run", 2*time.Minute, func() bool {
		rs, _ := st.ListMonitorRuns(context.Background(), 1)
		return len(rs) == 1 && rs[0].ID != runsBefore[0].ID && rs[0].Status == store.MonitorDone
	})
	want := map[string]string{"leak": "memory_growth", "errors": "error_rate_5xx", "crash": "restarts_in_window"}
	for name, check := range want {
		is := issuesFor(sink, "acme/shop", name)
		if len(is) != 1 {
			t.Errorf("%s: %d issues, want exactly 1: %+v", name, len(is), is)
			continue
		}
		if cs := sink.Comments("acme/shop", is[0].Number); len(cs) != 0 {
			t.Errorf("%s: %d comments on the issue, want none (each action once)", name, len(cs))
		}
		for _, part := range []string{check, "## Evidence", "## Why the monitor acted", "consecutive windows", "## Recommendations"} {
			if !strings.Contains(is[0].Body, part) {
				t.Errorf("%s issue lacks %q:\n%s", name, part, is[0].Body)
			}
		}
	}
	if is := issuesFor(sink, "acme/shop", "spike"); len(is) != 0 {
		t.Errorf("a single short spike got an issue: %s", is[0].Title)
	}
	out, err := exec.Command(fixloopBin(t), "monitor", "runs", "--state-dir", state, "--limit", "50").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "action") || !strings.Contains(string(out), killed.ID) {
		t.Errorf("fixloop monitor runs: %v\n%s", err, out)
	}
	t.Logf("issues: %d; survivor log tail:\n%s", len(sink.Issues("acme/shop")), tail(procs[survivor].log(), 15))
	assertNoDenial(t, procs[survivor])
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// A Rollout aborted by an analysis fixloop has no part in (Argo's own Prometheus provider) is noticed by
// the rollout watcher with no call from outside: it files one issue naming the failed metric. fixloop
// runs under the namespaced variant of manifests/ (a Role in the watched namespace, no cluster rights).
func TestWatcherFilesIssueForRolloutAbortedByAnotherAnalysis(t *testing.T) {
	e := clusterTest(t)
	sink, sinkURL := newSink(t)
	ns := e.NewNamespace(t, "watch")
	tmpl := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
		"metadata": map[string]any{"name": "error-budget", "namespace": ns},
		"spec": map[string]any{"metrics": []any{map[string]any{
			"name": "error-budget", "count": int64(1), "failureLimit": int64(0),
			// Always fails: the point is who aborted the rollout, not why.
			"successCondition": "result[0] < 0",
			"provider":         map[string]any{"prometheus": map[string]any{"address": e.PrometheusURL, "query": "vector(1)"}},
		}}},
	}}
	if _, err := e.Dynamic(t).Resource(analysisTemplateGVR).Namespace(ns).Create(context.Background(), tmpl, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	steps := []map[string]any{{"setWeight": int64(20)}, {"analysis": map[string]any{"templates": []any{map[string]any{"templateName": "error-budget"}}}}}
	e.DeployDemoRollout(t, ns, testenv.DemoRollout{Name: "checkout", Replicas: 2, Steps: steps})
	state := filepath.Join(t.TempDir(), "state")
	slackAPI, posts := slackRecorder(t)
	srv := startMonitorServeAs(t, e, asNamespaced(t, e, ns), sinkURL, "acme/checkout", state, "watcher", ns, append([]string{"--monitor-namespaces", ns, "--monitor-interval", "10m"},
		slackNotifyArgs(t, slackAPI, "C-alerts")...)...)
	e.UpdateDemoRollout(t, ns, "checkout", map[string]string{"COLOR": "green"})
	aborted := e.WaitRollout(t, ns, "checkout", func(u *unstructured.Unstructured) bool {
		aborted, _, _ := unstructured.NestedBool(u.Object, "status", "abort")
		return aborted
	}, 3*time.Minute)
	revision, _, _ := unstructured.NestedString(aborted.Object, "status", "currentPodHash")
	waitFor(t, "the watcher's issue", 4*time.Minute, func() bool { return len(sink.Issues("acme/checkout")) > 0 })

	// The work was an ordinary triage task, readable over A2A.
	st, err := store.Open(context.Background(), state)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	taskID, err := st.GetKV(context.Background(), "rollout-watch", ns+"/checkout/"+revision)
	if err != nil {
		t.Fatalf("no triage task recorded for revision %s: %v\n%s", revision, err, srv.log())
	}
	task, err := a2aClient(t, srv.URL).GetTask(context.Background(), &a2a.GetTaskRequest{ID: a2a.TaskID(taskID)})
	if err != nil {
		t.Fatalf("triage task %s: %v", taskID, err)
	}
	t.Logf("triage task %s: %s", task.ID, task.Status.State)
	is := sink.Issues("acme/checkout")
	if len(is) != 1 {
		t.Fatalf("%d issues, want 1: %+v", len(is), is)
	}
	t.Logf("issue %q:\n%s", is[0].Title, is[0].Body)
	for _, want := range []string{"checkout", "error-budget"} {
		if !strings.Contains(is[0].Body, want) {
			t.Errorf("issue does not name %q", want)
		}
	}
	// The channel hears of the abort (Argo's reason) with its issue, once, and not of fixloop's own
	// comparison of the scaled-down canary as a second, inconclusive notice.
	issueRef := fmt.Sprintf("/issues/%d", is[0].Number)
	waitFor(t, "the abort notice in Slack", 30*time.Second, func() bool {
		for _, m := range posts.all() {
			if b := m.Get("blocks"); strings.Contains(b, "aborted") && strings.Contains(b, "error-budget") && strings.Contains(b, issueRef) {
				return true
			}
		}
		return false
	})
	if n := len(posts.all()); n != 1 {
		t.Errorf("%d Slack notices for one abort, want 1: %v", n, posts.all())
	}
	assertNoDenial(t, srv)
}

// assertNoDenial fails when the apiserver refused fixloop anything: the roles it ran under (those of
// manifests/) must cover all the monitor and the watcher do, not only what the test checks.
func assertNoDenial(t *testing.T, p *serveProc) {
	t.Helper()
	for _, line := range strings.Split(p.log(), "\n") {
		if strings.Contains(line, "lacks permission") || strings.Contains(line, "forbidden") {
			t.Errorf("the apiserver denied fixloop a call under the roles of manifests/: %s", line)
		}
	}
}
