package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/argoproj/argo-rollouts/metricproviders/plugin/rpc"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/sirupsen/logrus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fixloop/fixloop/internal/argorun"
)

// TestMain lets the test binary serve as the plugin when Argo's handshake cookie is set, so the RPC
// test below talks to this very code through go-plugin.
func TestMain(m *testing.M) {
	if os.Getenv(handshake.MagicCookieKey) == handshake.MagicCookieValue {
		main()
		return
	}
	os.Exit(m.Run())
}

func metricWith(t *testing.T, cfg map[string]any, success, failure string) v1alpha1.Metric {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v1alpha1.Metric{Name: "verdict", SuccessCondition: success, FailureCondition: failure,
		Provider: v1alpha1.MetricProvider{Plugin: map[string]json.RawMessage{PluginName: raw}}}
}

func testProvider() *provider {
	return &provider{log: logrus.NewEntry(logrus.New()), now: time.Now}
}

func TestFinishPhases(t *testing.T) {
	promote := &argorun.Result{Verdict: "promote", Promote: true, Confidence: 90, CanaryPods: 1, StablePods: 4}
	weak := &argorun.Result{Verdict: "promote", Promote: true, Confidence: 60, CanaryPods: 1, StablePods: 4}
	abort := &argorun.Result{Verdict: "abort", Confidence: 95, CanaryPods: 1, StablePods: 4, IssueURL: "https://github.com/a/b/issues/1", Fingerprint: "abc",
		Report: "https://fixloop.example/reports/0123456789abcdef0123456789abcdef"}
	unsure := &argorun.Result{Verdict: "inconclusive", CanaryPods: 1}
	noPods := &argorun.Result{Verdict: "promote", Promote: true, Confidence: 99}
	const success = "result.promote == true && result.confidence >= 70"
	for _, c := range []struct {
		name             string
		r                *argorun.Result
		success, failure string
		want             v1alpha1.AnalysisPhase
	}{
		{"promote, no conditions", promote, "", "", v1alpha1.AnalysisPhaseSuccessful},
		{"abort, no conditions", abort, "", "", v1alpha1.AnalysisPhaseFailed},
		{"promote meets successCondition", promote, success, "", v1alpha1.AnalysisPhaseSuccessful},
		{"low confidence fails successCondition", weak, success, "", v1alpha1.AnalysisPhaseFailed},
		{"abort with only failureCondition", abort, "", `result.verdict == "abort"`, v1alpha1.AnalysisPhaseFailed},
		{"inconclusive whatever the conditions say", unsure, "true", "", v1alpha1.AnalysisPhaseInconclusive},
		{"no canary pod analysed never passes", noPods, success, "", v1alpha1.AnalysisPhaseInconclusive},
		{"a broken condition is an Error", promote, "result.nosuch(", "", v1alpha1.AnalysisPhaseError},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := testProvider().finish(v1alpha1.Measurement{Metadata: map[string]string{}}, metricWith(t, map[string]any{"url": "http://x"}, c.success, c.failure), c.r)
			if m.Phase != c.want {
				t.Fatalf("phase %s, want %s (message %q)", m.Phase, c.want, m.Message)
			}
			if m.FinishedAt == nil {
				t.Fatal("a finished measurement needs FinishedAt")
			}
		})
	}
	m := testProvider().finish(v1alpha1.Measurement{Metadata: map[string]string{}}, metricWith(t, map[string]any{"url": "http://x"}, success, ""), abort)
	if m.Metadata[metaIssueURL] != abort.IssueURL || m.Metadata[metaFingerprint] != "abc" || m.Metadata[metaVerdict] != "abort" || m.Metadata[metaReport] != abort.Report {
		t.Fatalf("metadata lacks the issue, fingerprint, verdict or report: %v", m.Metadata)
	}
}

func TestConfigRefused(t *testing.T) {
	for name, cfg := range map[string]map[string]any{
		"no url":          {},
		"not http":        {"url": "ftp://fixloop"},
		"two tokens":      {"url": "http://fixloop", "token": "a", "tokenFile": "/f"},
		"unknown setting": {"url": "http://fixloop", "tokne": "a"},
	} {
		if _, err := parseConfig(metricWith(t, cfg, "", "")); err == nil {
			t.Errorf("%s: accepted %v", name, cfg)
		}
	}
}

// The plugin served through go-plugin, called by Argo's own RPC client: fixloop unreachable is a
// measurement Error, never Successful, and an AnalysisRun without a Rollout owner is refused.
func TestRPCUnreachableFixloopIsError(t *testing.T) {
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig: handshake,
		Plugins:         map[string]goplugin.Plugin{"RpcMetricProviderPlugin": &rpc.RpcMetricProviderPlugin{}},
		Cmd:             exec.Command(os.Args[0]),
		StartTimeout:    30 * time.Second,
	})
	defer client.Kill()
	conn, err := client.Client()
	if err != nil {
		t.Fatalf("plugin did not start: %v", err)
	}
	raw, err := conn.Dispense("RpcMetricProviderPlugin")
	if err != nil {
		t.Fatal(err)
	}
	p := raw.(rpc.MetricProviderPlugin)
	if e := p.InitPlugin(); e.HasError() {
		t.Fatal(e)
	}
	if typ := p.Type(); typ != "fixloop" {
		t.Fatalf("Type() = %q", typ)
	}
	metric := metricWith(t, map[string]any{"url": "http://127.0.0.1:1", "requestTimeoutSeconds": 2}, "true", "")
	run := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "ns", UID: "u1",
		Labels:          map[string]string{podTemplateHashLabel: "abc"},
		OwnerReferences: []metav1.OwnerReference{{Kind: "Rollout", Name: "shop"}}}}
	m := p.Run(run, metric)
	if m.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(m.Message, "unreachable") {
		t.Fatalf("Run against an unreachable fixloop = %s %q, want Error naming it", m.Phase, m.Message)
	}
	m = p.Resume(run, metric, v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseRunning, Metadata: map[string]string{metaID: "u1.verdict.0"}})
	if m.Phase != v1alpha1.AnalysisPhaseError {
		t.Fatalf("Resume against an unreachable fixloop = %s, want Error", m.Phase)
	}
	run.OwnerReferences = nil
	if m := p.Run(run, metric); m.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(m.Message, "not owned by a Rollout") {
		t.Fatalf("Run without a Rollout owner = %s %q", m.Phase, m.Message)
	}
	if m := p.Terminate(run, metric, v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseRunning, Metadata: map[string]string{}}); m.Phase == v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("Terminate marked the measurement Successful")
	}
}

func TestMeasurementIDIsStablePerMeasurement(t *testing.T) {
	run := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{UID: "0f9c-uid"}}
	metric := v1alpha1.Metric{Name: "fixloop verdict/1"}
	first := measurementID(run, metric)
	if first != measurementID(run, metric) || !argorun.ValidID(first) {
		t.Fatalf("id %q not stable or not valid", first)
	}
	run.Status.MetricResults = []v1alpha1.MetricResult{{Name: metric.Name, Measurements: []v1alpha1.Measurement{{}}}}
	if measurementID(run, metric) == first {
		t.Fatal("the next measurement must start a fresh analysis")
	}
}
