package triage_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2aclient"
	"github.com/a2aproject/a2a-go/v2/a2aclient/agentcard"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/testenv"
)

func a2aClient(t *testing.T, base string) *a2aclient.Client {
	t.Helper()
	card, err := agentcard.DefaultResolver.Resolve(context.Background(), base+"/agents/triage")
	if err != nil {
		t.Fatal(err)
	}
	c, err := a2aclient.NewFromCard(context.Background(), card)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// `fixloop serve` is killed (SIGKILL) while an A2A analysis runs; after a restart on the same state dir
// the task is answered from the store (resumed and completed) and the failure still has one issue.
func TestKillAndRestartMidAnalysis(t *testing.T) {
	e := clusterTest(t)
	sink, sinkURL := newSink(t)
	srv := startServe(t, e, sinkURL, "acme/restart")
	ns := e.NewNamespace(t, "restart")
	deployCanary(t, e, ns, "crash", map[string]string{"PANIC_RATE": "0.3", "ERROR_RATE": "0.2"})
	soak(t, e, ns, 8)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := a2aClient(t, srv.URL)
	msg := a2a.NewMessage(a2a.MessageRoleUser, a2a.NewDataPart(map[string]any{"skill": "analyze_canary", "namespace": ns, "rollout": "crash"}))
	var taskID a2a.TaskID
	for ev, err := range c.SendStreamingMessage(ctx, &a2a.SendMessageRequest{Message: msg}) {
		if err != nil {
			break // the server died under us
		}
		if su, ok := ev.(*a2a.TaskStatusUpdateEvent); ok && su.Status.State == a2a.TaskStateWorking && su.Status.Message != nil &&
			strings.Contains(su.Status.Message.Parts[0].Text(), "collecting") {
			taskID = su.TaskID
			srv.kill(syscall.SIGKILL) // mid-analysis: evidence collection has started
		}
	}
	if taskID == "" {
		t.Fatalf("never saw the analysis start; serve log:\n%s", srv.log())
	}
	srv.start()
	c = a2aClient(t, srv.URL)
	var task *a2a.Task
	testenv.WaitFor(t, fmt.Sprintf("task %s to end after the restart", taskID), 500*time.Millisecond, 3*time.Minute, func() (bool, string) {
		var err error
		task, err = c.GetTask(ctx, &a2a.GetTaskRequest{ID: taskID})
		if err != nil {
			t.Fatalf("GetTask after restart: %v\nserve log:\n%s", err, srv.log())
		}
		return task.Status.State == a2a.TaskStateCompleted || task.Status.State == a2a.TaskStateFailed, "state " + string(task.Status.State)
	})
	if task.Status.State != a2a.TaskStateCompleted || len(task.Artifacts) == 0 {
		t.Fatalf("resumed task = %+v\nserve log:\n%s", task.Status, srv.log())
	}
	v := task.Artifacts[len(task.Artifacts)-1].Parts[0].Data().(map[string]any)
	if v["verdict"] != "abort" {
		t.Fatalf("resumed verdict = %v", v)
	}
	// Once more on the restarted server: still one issue for the failure.
	res, err := c.SendMessage(ctx, &a2a.SendMessageRequest{Message: a2a.NewMessage(a2a.MessageRoleUser, a2a.NewDataPart(map[string]any{"namespace": ns, "rollout": "crash"}))})
	if err != nil || res.(*a2a.Task).Status.State != a2a.TaskStateCompleted {
		t.Fatalf("analysis after restart: %v %v", res, err)
	}
	if n := len(sink.Issues("acme/restart")); n != 1 {
		t.Fatalf("%d issues after kill/restart, want 1: %+v", n, sink.Issues("acme/restart"))
	}
	t.Logf("task %s resumed after SIGKILL and completed: %s (comments on the issue: %d)", taskID, v["verdict"], len(sink.Comments("acme/restart", 1)))
}

var analysisTemplateGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "analysistemplates"}

// The shipped web-provider AnalysisTemplate pointed at a loopback fixloop drives the real Argo Rollouts
// controller: the bad canary is aborted, the benign one promoted to stable. fixloop requires a token;
// the controller sends the one held in the Secret the template names.
func TestWebProviderTemplateWithRealController(t *testing.T) {
	e := clusterTest(t)
	_, sinkURL := newSink(t)
	token, authFile := argoToken(t)
	srv := startServe(t, e, sinkURL, "acme/web", "--auth-file", authFile)
	ns := e.NewNamespace(t, "webprov")
	// The colour differs on purpose (as the demo tells fixloop).
	installWebTemplate(t, e, ns, srv.URL+"/argo/v1/verdict", token, `color=\w+`)
	// The canaries pause until they have served what a confident verdict needs (a timed pause gave a
	// loaded machine's benign canary too few requests for the templates' confidence gate of 70).
	steps := func(name string) []map[string]any { return analysisSteps(ns, name, "") }
	type outcome struct {
		name string
		env  map[string]string
		want func(u *unstructured.Unstructured) bool
	}
	cases := []outcome{
		{"bad", map[string]string{"PANIC_RATE": "0.3", "ERROR_RATE": "0.2"}, func(u *unstructured.Unstructured) bool {
			aborted, _, _ := unstructured.NestedBool(u.Object, "status", "abort")
			return aborted
		}},
		{"good", map[string]string{"COLOR": "green"}, func(u *unstructured.Unstructured) bool {
			phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
			stable, _, _ := unstructured.NestedString(u.Object, "status", "stableRS")
			cur, _, _ := unstructured.NestedString(u.Object, "status", "currentPodHash")
			return phase == "Healthy" && stable == cur
		}},
	}
	for _, c := range cases {
		e.DeployDemoRollout(t, ns, testenv.DemoRollout{Name: c.name, Replicas: 5, Steps: steps(c.name)})
		busyTraffic(t, e, ns, c.name)
		e.UpdateDemoRollout(t, ns, c.name, c.env)
	}
	for _, c := range cases {
		e.WaitRollout(t, ns, c.name, func(u *unstructured.Unstructured) bool {
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions")
			return len(conds) > 0
		}, 3*time.Minute)
	}
	soak(t, e, ns, 9)
	for _, c := range cases {
		resumePaused(t, e, ns, c.name)
	}
	start := time.Now()
	for _, c := range cases {
		e.WaitRollout(t, ns, c.name, c.want, 5*time.Minute)
		t.Logf("%s canary decided by the AnalysisRun after %s", c.name, time.Since(start).Round(time.Second))
	}
	if !strings.Contains(srv.log(), "canary analysed for the web metric provider") {
		t.Fatalf("the verdicts did not come from fixloop:\n%s", srv.log())
	}
}

// argoToken makes the token the Argo controller sends and an auth file accepting it (read, issue).
func argoToken(t *testing.T) (token, authFile string) {
	t.Helper()
	token, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	authFile = filepath.Join(t.TempDir(), "auth.yaml")
	entry := "tokens:\n- name: argo-rollouts\n  sha256: " + auth.HashToken(token) + "\n  scopes: [read, issue]\n"
	if err := os.WriteFile(authFile, []byte(entry), 0o600); err != nil {
		t.Fatal(err)
	}
	return token, authFile
}
