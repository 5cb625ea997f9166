package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/testenv"
	"github.com/fixloop/fixloop/tools"
)

// compare_canary against the real control plane, Argo Rollouts and Prometheus: a canary whose
// handlers panic (PANIC_RATE) must be aborted with the panic as evidence; a canary that only
// changes its colour must be promoted when the colour is declared intended.
func TestCompareCanaryOnCluster(t *testing.T) {
	c := newCanaryCluster(t, "cc")
	t.Parallel() // a namespace of its own; it waits on the controller and scrapes
	e, ns, d := c.e, c.ns, c.d
	hashes := c.pausedCanaries(t, []testenv.DemoRollout{{Name: "bad", Replicas: 5}, {Name: "good", Replicas: 5}},
		[]map[string]string{{"PANIC_RATE": "0.3"}, {"COLOR": "green"}})

	ctx := context.Background()
	compare := func(in tools.CompareCanaryInput) *tools.CompareCanaryOutput {
		t.Helper()
		return c.compare(t, in)
	}

	t.Run("panicking canary is aborted", func(t *testing.T) {
		// A secret in a canary log line must not come back in the evidence.
		cs := e.Clientset(t)
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=bad,rollouts-pod-template-hash=" + hashes["bad"][1]})
		if err != nil || len(pods.Items) == 0 {
			t.Fatalf("canary pods: %v (%d)", err, len(pods.Items))
		}
		for _, p := range pods.Items {
			e.AppendPodLog(t, ns, p.Name, `level=ERROR msg="token refresh failed" auth="Bearer sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"`)
		}
		panicEvidence := func(out *tools.CompareCanaryOutput) bool {
			for _, ev := range out.Evidence {
				if ev.Kind == judge.KindNewTemplate && ev.Severity == judge.SeverityCritical && strings.Contains(strings.Join(append(ev.Examples, ev.Template), "\n"), "panic") {
					return true
				}
			}
			return false
		}
		var out *tools.CompareCanaryOutput
		waitFor(t, "abort verdict with the canary's panics as evidence", 3*time.Minute, func() (bool, string) {
			out = compare(tools.CompareCanaryInput{Namespace: ns, Rollout: "bad", SinceSeconds: 600})
			return out.Verdict == judge.Abort && panicEvidence(out), fmt.Sprintf("%s: %s (%d/%d records)", out.Verdict, out.RootCause, out.Summary.StableRecords, out.Summary.CanaryRecords)
		})
		if out.Promote || out.Fingerprint == "" || out.Confidence < 60 {
			t.Errorf("promote=%v fingerprint=%q confidence=%d", out.Promote, out.Fingerprint, out.Confidence)
		}
		if len(out.StablePods) != 4 || len(out.CanaryPods) != 1 {
			t.Errorf("pods stable %v canary %v, want 4 and 1 (all pods of each side)", out.StablePods, out.CanaryPods)
		}
		raw, _ := json.Marshal(out)
		if strings.Contains(string(raw), "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c") {
			t.Error("secret from the canary log leaked into the verdict")
		}
		// The same pods named by selectors give the same verdict and failure fingerprint.
		h := hashes["bad"]
		bySel := compare(tools.CompareCanaryInput{Namespace: ns, Rollout: "bad", SinceSeconds: 600,
			StableSelector: "app=bad,rollouts-pod-template-hash=" + h[0], CanarySelector: "app=bad,rollouts-pod-template-hash=" + h[1]})
		if bySel.Verdict != judge.Abort || bySel.Fingerprint != out.Fingerprint {
			t.Errorf("by selectors: %s %s, want abort %s", bySel.Verdict, bySel.Fingerprint, out.Fingerprint)
		}
	})

	t.Run("colour change is promoted without any pattern", func(t *testing.T) {
		var out *tools.CompareCanaryOutput
		// While the canary is seconds old, Prometheus' request counts lag its log lines (increase() misses
		// what a new pod served before its first scrape), so an early verdict can be skewed; the colour
		// change must be promoted once the window holds settled data, and never stay aborted.
		waitFor(t, "a promote verdict for the colour canary", 3*time.Minute, func() (bool, string) {
			out = compare(tools.CompareCanaryInput{Namespace: ns, Rollout: "good", SinceSeconds: 600})
			return out.Verdict == judge.Promote && out.Promote, fmt.Sprintf("%s: %s; notes %v; evidence %s", out.Verdict, out.RootCause, out.Notes, evidenceJSON(out))
		})
		if out.Summary.CanaryRecords == 0 || out.Summary.StableRecords == 0 {
			t.Errorf("summary %+v", out.Summary)
		}
	})

	t.Run("bad input names what to fix", func(t *testing.T) {
		for _, in := range []tools.CompareCanaryInput{
			{Namespace: ns},
			{Rollout: "good"},
			{Namespace: ns, StableSelector: "app=good", CanarySelector: "a b c"},
			{Namespace: ns, Rollout: "missing"},
		} {
			if _, err := tools.CompareCanary(ctx, d, in); err == nil {
				t.Errorf("%+v: no error", in)
			}
		}
		if _, err := tools.CompareCanary(ctx, tools.Deps{}, tools.CompareCanaryInput{Namespace: ns, Rollout: "good"}); err == nil || !strings.Contains(err.Error(), "KUBECONFIG") {
			t.Errorf("no cluster: %v", err)
		}
	})
}

// Without a cluster the tool says what to configure instead of failing obscurely.
func TestCompareCanaryWithoutCluster(t *testing.T) {
	_, err := tools.CompareCanary(context.Background(), tools.Deps{}, tools.CompareCanaryInput{Namespace: "x", Rollout: "web"})
	if err == nil || !strings.Contains(err.Error(), "KUBECONFIG") {
		t.Errorf("error = %v, want one naming KUBECONFIG", err)
	}
}

func evidenceJSON(out *tools.CompareCanaryOutput) string {
	raw, _ := json.Marshal(out.Evidence)
	return string(raw)
}
