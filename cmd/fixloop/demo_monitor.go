package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fixloop/fixloop/internal/github/ghsink"
	"github.com/fixloop/fixloop/internal/testenv"
	"github.com/fixloop/fixloop/tools"
)

// The monitor's part of the demo: a service outside any deploy that degrades on its own.
const (
	monitorNamespace = "payments"
	monitorWorkload  = "checkout"
	monitorInterval  = "15s" // short for the demo; the default is 10m
	monitorWindow    = "1m"  // the default is 30m
)

// monitorEnv turns on fixloop serve's health monitor for the demo's degrading service only. The
// rollout watcher stays off: the canary's abort already has its issue from the verdict route.
func monitorEnv() []string {
	return []string{
		"FIXLOOP_MONITOR=true",
		"FIXLOOP_MONITOR_INTERVAL=" + monitorInterval,
		"FIXLOOP_MONITOR_WINDOW=" + monitorWindow,
		"FIXLOOP_MONITOR_NAMESPACES=" + monitorNamespace,
		"FIXLOOP_MONITOR_WATCH_ROLLOUTS=false",
	}
}

// showMonitor deploys a service that starts failing every request after a healthy start and narrates
// the monitor's runs until it acts (an issue) on a finding that persisted across two windows.
func (d *demo) showMonitor(ctx context.Context) (string, error) {
	if err := d.deployDegrading(ctx); err != nil {
		return "", err
	}
	d.say("%s/%s is healthy for 30s, then answers 500 to every request (demo knob ERROR_BURST=30s/1h)", monitorNamespace, monitorWorkload)
	d.say("the monitor runs every %s over a %s window; a finding must persist across two runs before it acts", monitorInterval, monitorWindow)
	const timeout = 5 * time.Minute
	w := d.term.waiter(d.out, "the monitor", timeout)
	seen := map[string]bool{}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		var out tools.ListFindingsOutput
		if err := d.callTool(ctx, "list_findings", map[string]any{"limit": 5, "onlyBad": true}, &out); err != nil {
			return "", err
		}
		if ref, ok := d.narrateFindings(w, out, seen); ok {
			d.showMonitorIssue()
			return "caught by the health monitor between deploys: " + ref, nil
		}
		if err := sleepCtx(ctx, 2*time.Second); err != nil {
			return "", err
		}
		w.tick()
	}
	return "", fmt.Errorf("the monitor did not act on %s/%s within %s (log: %s)", monitorNamespace, monitorWorkload, timeout,
		filepath.Join(d.dir, "logs", "fixloop-serve.log"))
}

// narrateFindings prints each new finding and action once; it reports the issue once one is filed.
func (d *demo) narrateFindings(w *waiter, out tools.ListFindingsOutput, seen map[string]bool) (string, bool) {
	// Oldest run first, so the streak reads upwards.
	for i := len(out.Runs) - 1; i >= 0; i-- {
		r := out.Runs[i]
		for _, f := range r.Findings {
			if f.Namespace != monitorNamespace || seen[r.ID+f.Check] {
				continue
			}
			seen[r.ID+f.Check] = true
			threshold := ""
			if f.Threshold != "" {
				threshold = " (" + f.Threshold + ")"
			}
			w.line("run %s: %s %s %s = %s%s; bad in %d consecutive run(s) → %s", r.ID, f.Workload, f.Check,
				f.Severity, f.Value, threshold, f.Streak, f.Decision)
		}
		for _, a := range r.Actions {
			if a.Namespace != monitorNamespace || a.Kind != "issue" || a.Status != "done" {
				continue
			}
			w.line("run %s: opened %s", r.ID, a.Ref)
			return a.Ref, true
		}
	}
	return "", false
}

func (d *demo) deployDegrading(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: monitorNamespace}}
	if _, err := d.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating namespace %s: %w", monitorNamespace, err)
	}
	svc, ro := testenv.DemoObjects(monitorNamespace, testenv.DemoRollout{Name: monitorWorkload, Replicas: 2, Color: "blue",
		Env: map[string]string{"ERROR_BURST": "30s/1h"}})
	if _, err := d.cs.CoreV1().Services(monitorNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the Service: %w", err)
	}
	if _, err := d.dyn.Resource(testenv.RolloutGVR).Namespace(monitorNamespace).Create(ctx, ro, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the Rollout: %w", err)
	}
	return nil
}

// showMonitorIssue prints the head of the issue the monitor filed for the degrading service.
func (d *demo) showMonitorIssue() {
	sink, err := ghsink.New(ghsink.Options{StateFile: filepath.Join(d.dir, "github", "state.json")})
	if err != nil {
		d.say("reading the issue sink: %v", err)
		return
	}
	for _, is := range sink.Issues(demoRepo) {
		if !strings.Contains(is.Title, monitorWorkload) {
			continue
		}
		d.say("%s#%d [%s] %s", demoRepo, is.Number, is.State, is.Title)
		for i, line := range strings.Split(is.Body, "\n") {
			if i == 18 {
				d.say("│ ...")
				break
			}
			d.say("│ %s", line)
		}
	}
}
