package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/testenv"
	"github.com/fixloop/fixloop/tools"
)

func (d *demo) deploy(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: demoNamespace}}
	if err := d.cs.CoreV1().Namespaces().Delete(ctx, demoNamespace, metav1.DeleteOptions{}); err == nil {
		d.say("removing the namespace %q left by an earlier demo ...", demoNamespace)
		if err := waitFor(ctx, 60*time.Second, "namespace "+demoNamespace+" to be deleted", func() bool {
			_, err := d.cs.CoreV1().Namespaces().Get(ctx, demoNamespace, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		}); err != nil {
			return err
		}
	}
	if _, err := d.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating namespace %s: %w", demoNamespace, err)
	}
	// The AnalysisTemplate of manifests/argo, pointed at the fixloop serve of this demo.
	tmpl := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
		"metadata": map[string]any{"name": "fixloop-canary", "namespace": demoNamespace},
		"spec": map[string]any{
			"args": []any{map[string]any{"name": "rollout"}, map[string]any{"name": "namespace"},
				map[string]any{"name": "fixloop-token", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "fixloop-argo-token", "key": "token"}}}},
			"metrics": []any{map[string]any{
				"name": "fixloop-verdict", "count": int64(1), "consecutiveErrorLimit": int64(30), "interval": "5s",
				"successCondition": "result.promote == true && result.confidence >= 70",
				// Only an abort fails the run: an inconclusive or low-confidence verdict makes the
				// measurement Inconclusive, so Argo pauses the rollout for a human (never a promote).
				"failureCondition": "result.verdict == \"abort\"",
				"provider": map[string]any{"web": map[string]any{
					"url": d.serve + "/argo/v1/verdict", "method": "POST", "timeoutSeconds": int64(10),
					"headers": []any{map[string]any{"key": "Content-Type", "value": "application/json"},
						map[string]any{"key": "Authorization", "value": "Bearer {{args.fixloop-token}}"}},
					"jsonBody": map[string]any{"namespace": "{{args.namespace}}", "rollout": "{{args.rollout}}", "repoUrl": "https://github.com/" + demoRepo},
					"jsonPath": "{$}",
				}},
			}},
		},
	}}
	argoSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "fixloop-argo-token"}, StringData: map[string]string{"token": d.argoTok}}
	if _, err := d.cs.CoreV1().Secrets(demoNamespace).Create(ctx, argoSecret, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the Secret with Argo's fixloop token: %w", err)
	}
	if _, err := d.dyn.Resource(analysisTemplateGVR).Namespace(demoNamespace).Create(ctx, tmpl, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the AnalysisTemplate: %w", err)
	}
	steps := []map[string]any{
		{"setWeight": int64(20)},
		{"pause": map[string]any{"duration": "45s"}}, // let the canary serve traffic (and Prometheus scrape it) before judging
		{"analysis": map[string]any{
			"templates": []any{map[string]any{"templateName": "fixloop-canary"}},
			"args": []any{
				map[string]any{"name": "rollout", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.name"}}},
				map[string]any{"name": "namespace", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.namespace"}}},
			},
		}},
		{"setWeight": int64(60)},
		{"pause": map[string]any{"duration": "5s"}},
	}
	svc, ro := testenv.DemoObjects(demoNamespace, testenv.DemoRollout{Name: demoRollout, Replicas: 5, Steps: steps, Color: "blue"})
	// 60 requests/s: the canary at 20% serves the ~500 requests the judge needs for full confidence
	// within the pause (at the generator's default 10/s a benign canary scores ~57, below the gate).
	metav1.SetMetaDataAnnotation(&svc.ObjectMeta, testenv.TrafficAnnotation, "60")
	if _, err := d.cs.CoreV1().Services(demoNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the Service: %w", err)
	}
	if _, err := d.dyn.Resource(testenv.RolloutGVR).Namespace(demoNamespace).Create(ctx, ro, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the Rollout: %w", err)
	}
	d.say("Rollout %s/%s: 5 replicas of the demo app (blue), 60 requests/s; canary steps: 20%% → pause 45s → fixloop analysis → 60%% → done", demoNamespace, demoRollout)
	return d.watchRollout(ctx, 3*time.Minute, func(s rolloutState) bool { return s.Phase == "Healthy" && s.Available == 5 })
}

func (d *demo) showArchitecture(ctx context.Context) error {
	var arch tools.GetArchitectureOutput
	if err := d.callTool(ctx, "get_architecture", map[string]any{"namespace": demoNamespace}, &arch); err != nil {
		return err
	}
	t := arch.Totals
	d.say("get_architecture sees %d workload(s), %d pods (%d ready, %d unhealthy), %d service(s); the workload:",
		t.Workloads, t.Pods, t.PodsReady, t.PodsUnhealthy, t.Services)
	printJSONExcerpt(d.out, arch.Workloads, 28)
	return nil
}

// rolloutState is the part of the Rollout status the demo narrates.
type rolloutState struct {
	Phase, Message, CurrentHash, StableHash string
	Step, Available                         int64
	Aborted                                 bool
	Inconclusive                            bool // paused by an Inconclusive analysis, waiting for a human
}

func readRolloutState(u *unstructured.Unstructured) rolloutState {
	r := kube.ParseRollout(u)
	s := rolloutState{
		Phase: r.Phase, Message: r.Message, CurrentHash: r.CurrentHash, StableHash: r.StableHash,
		Available: r.AvailableReplica, Aborted: r.Aborted,
		Inconclusive: slices.Contains(r.PauseReasons, "InconclusiveAnalysisRun"),
	}
	if r.CurrentStepIndex != nil {
		s.Step = int64(*r.CurrentStepIndex)
	}
	return s
}

func (s rolloutState) String() string {
	str := fmt.Sprintf("phase %s, step %d, %d available", s.Phase, s.Step, s.Available)
	if s.Aborted {
		str += ", aborted"
	}
	if s.Inconclusive {
		str += ", paused: analysis inconclusive"
	}
	if s.Message != "" {
		str += " — " + s.Message
	}
	return str
}

// watchRollout narrates status changes until done holds, showing that it is alive (see waiter).
func (d *demo) watchRollout(ctx context.Context, timeout time.Duration, done func(rolloutState) bool) error {
	ri := d.dyn.Resource(testenv.RolloutGVR).Namespace(demoNamespace)
	deadline := time.Now().Add(timeout)
	last := ""
	w := d.term.waiter(d.out, "the rollout", timeout)
	for {
		u, err := ri.Get(ctx, demoRollout, metav1.GetOptions{})
		if err == nil {
			s := readRolloutState(u)
			if line := s.String(); line != last {
				w.line("rollout: %s", line)
				last = line
			}
			if done(s) {
				return nil
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rollout %s/%s did not get there within %s (last: %s; controller log %s)",
				demoNamespace, demoRollout, timeout, last, filepath.Join(d.dir, "logs", "argo-rollouts.log"))
		}
		w.tick()
		time.Sleep(500 * time.Millisecond)
	}
}

// release starts a new revision and narrates the canary until Argo (asking fixloop) promotes or aborts it.
func (d *demo) release(ctx context.Context, env map[string]string) (string, error) {
	u, err := d.dyn.Resource(testenv.RolloutGVR).Namespace(demoNamespace).Get(ctx, demoRollout, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	prev := readRolloutState(u)
	if err := testenv.UpdateDemoEnv(ctx, d.dyn, demoNamespace, demoRollout, env); err != nil {
		return "", err
	}
	// No ignore or mask pattern: a colour-only release is a changed value, which the judge promotes.
	d.say("new revision applied; Argo starts the canary at 20%% weight")
	// Wait for the controller to pick up the new revision and pause at 20%, then look at the canary
	// near the end of the pause: once Argo's analysis aborts a bad canary, its pods are gone.
	if err := d.watchRollout(ctx, 3*time.Minute, func(s rolloutState) bool {
		return s.CurrentHash != prev.CurrentHash && (s.Step >= 1 || s.Phase == "Degraded")
	}); err != nil {
		return "", err
	}
	d.say("the canary serves 20%% of the traffic; looking at it the way fixloop's tools do ...")
	if err := sleepCtx(ctx, 35*time.Second); err != nil {
		return "", err
	}
	d.showCanaryView(ctx)
	d.say("Argo's AnalysisRun now calls fixloop (web provider → POST %s/argo/v1/verdict) ...", d.serve)
	var final rolloutState
	err = d.watchRollout(ctx, 5*time.Minute, func(s rolloutState) bool {
		final = s
		return (s.Phase == "Healthy" && s.Step >= 5) || s.Aborted || s.Phase == "Degraded" || s.Inconclusive
	})
	if err != nil {
		return "", err
	}
	d.showAnalysisRun(ctx)
	if final.Inconclusive {
		return "", fmt.Errorf("fixloop's verdict was inconclusive, so Argo paused the canary for a human "+
			"(kubectl argo rollouts promote or abort %s -n %s); the demo expects a clear verdict", demoRollout, demoNamespace)
	}
	if final.Aborted || final.Phase == "Degraded" {
		return "aborted by Argo Rollouts on fixloop's verdict; canary scaled down, stable kept serving", nil
	}
	return "promoted by Argo Rollouts on fixloop's verdict; the new version is now stable", nil
}

// showCanaryView prints what fixloop's tools see during the canary: logs, metrics and the verdict.
func (d *demo) showCanaryView(ctx context.Context) {
	var logs tools.GetLogsOutput
	if err := d.callTool(ctx, "get_logs", map[string]any{"namespace": demoNamespace, "rollout": demoRollout, "role": "canary", "summarize": true, "sinceSeconds": 120}, &logs); err != nil {
		d.say("get_logs: %v", err)
	} else {
		d.say("get_logs (canary, %d pod(s), %d lines mined into templates):", len(logs.Pods), logs.TotalLines)
		for i, t := range logs.Templates {
			if i == 6 {
				d.say("  ... %d more templates", len(logs.Templates)-6)
				break
			}
			d.say("  %5d× %-5s %s", t.Count, t.Level, truncate(t.Pattern, 110))
		}
	}
	d.say("get_metrics over the last 2 minutes (stable | canary):")
	byRole := map[string]map[string]tools.MetricResult{}
	var names []string
	for _, role := range []string{"stable", "canary"} {
		var m tools.GetMetricsOutput
		if err := d.callTool(ctx, "get_metrics", map[string]any{"namespace": demoNamespace, "rollout": demoRollout, "role": role, "window": "2m"}, &m); err != nil {
			d.say("  %s: %v", role, err)
			continue
		}
		byRole[role] = map[string]tools.MetricResult{}
		for _, r := range m.Metrics {
			if role == "stable" {
				names = append(names, r.Name)
			}
			byRole[role][r.Name] = r
		}
	}
	for _, n := range names {
		d.say("  %-22s %18s | %s", n, metricFigure(byRole["stable"][n]), metricFigure(byRole["canary"][n]))
	}
	var v struct {
		Verdict    string `json:"verdict"`
		Promote    bool   `json:"promote"`
		Confidence int    `json:"confidence"`
		Analysis   string `json:"analysis"`
		RootCause  string `json:"rootCause"`
		Report     string `json:"report"`
		Evidence   []struct {
			Kind, Template, Metric, Severity, Detail string
		} `json:"evidence"`
	}
	if err := d.callTool(ctx, "compare_canary", map[string]any{"namespace": demoNamespace, "rollout": demoRollout, "sinceSeconds": 120}, &v); err != nil {
		d.say("compare_canary: %v", err)
		return
	}
	d.say("compare_canary verdict: %s (promote=%v, confidence %d)", d.term.bold(v.Verdict), v.Promote, v.Confidence)
	d.say("  analysis:   %s", v.Analysis)
	if v.RootCause != "" {
		d.say("  root cause: %s", v.RootCause)
	}
	if v.Report != "" {
		if strings.HasPrefix(v.Report, "/") { // root-relative when serve has no public URL configured
			v.Report = d.serve + v.Report
		}
		d.say("  report:     %s  (charts, template diff; send the token: curl -H \"Authorization: Bearer $(cat %s)\")",
			v.Report, filepath.Join(d.dir, "token"))
	}
	shown := 0
	for _, e := range v.Evidence {
		if e.Severity == "info" {
			continue // the demo shows what decided the verdict; the tool returns everything
		}
		if shown == 6 {
			d.say("  ...")
			break
		}
		shown++
		what := e.Template
		if what == "" {
			what = e.Metric
		}
		d.say("  evidence:   [%s, %s] %s — %s", e.Kind, e.Severity, truncate(what, 90), truncate(e.Detail, 120))
	}
}

// metricFigure is a metric's average in a few characters, or why there is none.
func metricFigure(r tools.MetricResult) string {
	if r.Status != "ok" || r.Avg == nil {
		if r.Status == "" {
			return "-"
		}
		return r.Status
	}
	return fmt.Sprintf("%.4g %s", *r.Avg, r.Unit)
}

func (d *demo) showAnalysisRun(ctx context.Context) {
	runs, err := d.dyn.Resource(kube.AnalysisRunsGVR).
		Namespace(demoNamespace).List(ctx, metav1.ListOptions{})
	if err != nil || len(runs.Items) == 0 {
		return
	}
	newest := runs.Items[0]
	for _, r := range runs.Items {
		if r.GetCreationTimestamp().After(newest.GetCreationTimestamp().Time) {
			newest = r
		}
	}
	run, err := kube.ParseAnalysisRun(&newest)
	if err != nil {
		d.say("AnalysisRun %s: %v", newest.GetName(), err)
		return
	}
	d.say("AnalysisRun %s: %s", run.Name, run.Status.Phase)
	for _, r := range run.Status.MetricResults {
		if len(r.Measurements) == 0 {
			continue
		}
		last := r.Measurements[len(r.Measurements)-1]
		d.say("  measurement %s: %s", last.Phase, truncate(last.Value, 200))
	}
}
