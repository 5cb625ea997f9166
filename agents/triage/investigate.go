package triage

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/skills"
	"github.com/fixloop/fixloop/tools"
)

// InvestigateInput is the investigate_service skill input.
type InvestigateInput struct {
	Namespace string `json:"namespace"`
	Workload  string `json:"workload"`         // name or kind/name (rollout/web, deployment/api, ...)
	Window    string `json:"window,omitempty"` // Prometheus duration, default 30m
	RepoURL   string `json:"repoUrl,omitempty"`
	// Thresholds override the defaults (warn/critical per check).
	Thresholds *Thresholds `json:"thresholds,omitempty"`
}

// Thresholds for investigate_service; defaults follow a widely used autofix workflow.
type Thresholds struct {
	CPUWarn, CPUCrit       float64 // % of limit
	MemWarn, MemCrit       float64 // % of limit
	Err5xxWarn, Err5xxCrit float64 // % of requests
	Err4xxWarn, Err4xxCrit float64 // % of requests
	P95WarnMS, P95CritMS   float64
	MinRequests            float64 // HTTP checks are skipped below this many requests in the window
}

// DefaultThresholds are the documented defaults.
var DefaultThresholds = Thresholds{CPUWarn: 70, CPUCrit: 90, MemWarn: 70, MemCrit: 90, Err5xxWarn: 1, Err5xxCrit: 5,
	Err4xxWarn: 10, Err4xxCrit: 25, P95WarnMS: 1000, P95CritMS: 3000, MinRequests: 20}

// Finding is one health check result.
type Finding struct {
	Check     string   `json:"check"`
	Severity  string   `json:"severity"` // ok|warning|critical|skipped
	Value     string   `json:"value,omitempty"`
	Threshold string   `json:"threshold,omitempty"`
	Pods      []string `json:"pods,omitempty"`
	Evidence  string   `json:"evidence,omitempty"`
}

// LogPattern is an error template from the affected pods' logs.
type LogPattern struct {
	Pattern  string   `json:"pattern"`
	Count    int      `json:"count"`
	Level    string   `json:"level,omitempty"`
	Pods     int      `json:"pods"`
	First    string   `json:"first,omitempty"`
	Last     string   `json:"last,omitempty"`
	Examples []string `json:"examples,omitempty"`
}

// InvestigateResult is the investigate_service output.
type InvestigateResult struct {
	Namespace string `json:"namespace"`
	Workload  string `json:"workload"`
	Window    string `json:"window"`
	Status    string `json:"status"` // healthy|degraded|critical|unknown
	// Reasons say why the status is unknown: what could not be read (cluster, workload, Prometheus).
	Reasons  []string     `json:"reasons,omitempty"`
	Findings []Finding    `json:"findings"`
	Logs     []LogPattern `json:"logs,omitempty"`
	Events   []string     `json:"events,omitempty"`
	FixPlan  string       `json:"fixPlan"`
	Notes    []string     `json:"notes,omitempty"`

	unread []string // sources that could not be read; any of them keeps a clean result from reading as healthy
}

// couldNotRead records a data source that failed: a note for the reader and a reason the status cannot
// be "healthy".
func (r *InvestigateResult) couldNotRead(why string) {
	r.Notes = append(r.Notes, why)
	r.unread = append(r.unread, why)
}

// Summary is a one-line text for A2A.
func (r *InvestigateResult) Summary() string {
	var bad []string
	for _, f := range r.Findings {
		if f.Severity == "warning" || f.Severity == "critical" {
			bad = append(bad, fmt.Sprintf("%s %s (%s)", f.Check, f.Severity, f.Value))
		}
	}
	if len(bad) == 0 && r.Status == "unknown" {
		return fmt.Sprintf("%s/%s could not be assessed over %s: %s.", r.Namespace, r.Workload, r.Window, strings.Join(r.Reasons, "; "))
	}
	if len(bad) == 0 {
		return fmt.Sprintf("%s/%s is %s over %s.", r.Namespace, r.Workload, r.Status, r.Window)
	}
	return fmt.Sprintf("%s/%s is %s over %s: %s.", r.Namespace, r.Workload, r.Status, r.Window, strings.Join(bad, "; "))
}

func grade(v, warn, crit float64) string {
	switch {
	case v >= crit:
		return "critical"
	case v >= warn:
		return "warning"
	default:
		return "ok"
	}
}

// InvestigateService checks a workload's health over the window.
func (t *Triage) InvestigateService(ctx context.Context, in InvestigateInput, progress Progress) (*InvestigateResult, error) {
	if progress == nil {
		progress = nop
	}
	if in.Namespace == "" || in.Workload == "" {
		return nil, errors.New("investigate_service: namespace and workload are required")
	}
	th := DefaultThresholds
	if in.Thresholds != nil {
		th = *in.Thresholds
	}
	if in.Window == "" {
		in.Window = "30m"
	}
	win, err := time.ParseDuration(in.Window)
	if err != nil {
		return nil, fmt.Errorf("investigate_service: window %q: want a duration like 30m", in.Window)
	}
	d := t.cfg.Tools
	res := &InvestigateResult{Namespace: in.Namespace, Workload: in.Workload, Window: in.Window, Findings: []Finding{}}

	progress("reading the workload, its pods and recent warning events")
	arch, workload, err := t.describe(ctx, in)
	if err != nil {
		res.couldNotRead("workload: " + err.Error())
	}
	if workload != "" {
		res.Workload = workload
	}
	var podNames []string
	if arch != nil {
		for _, w := range arch.Workloads {
			pc := w.Pods
			res.Findings = append(res.Findings,
				Finding{Check: "restarts", Severity: grade(float64(pc.Restarts), 1, 5), Value: fmt.Sprint(pc.Restarts), Threshold: "warn 1 / critical 5"},
				Finding{Check: "oom_killed", Severity: grade(float64(pc.OOMKilled), 1, 1), Value: fmt.Sprint(pc.OOMKilled), Threshold: "any"},
				Finding{Check: "crash_loop", Severity: grade(float64(pc.CrashLooping), 1, 1), Value: fmt.Sprint(pc.CrashLooping), Threshold: "any"})
			break
		}
		var unhealthy []string
		for _, p := range arch.Pods {
			podNames = append(podNames, p.Name)
			if p.Reason != "" || !p.Ready || p.Restarts > 0 {
				unhealthy = append(unhealthy, p.Name)
			}
		}
		for i := range res.Findings {
			if res.Findings[i].Severity != "ok" {
				res.Findings[i].Pods = unhealthy
			}
		}
		for _, w := range arch.Warnings {
			res.Events = append(res.Events, fmt.Sprintf("%s %s x%d (%s ago): %s", w.Object, w.Reason, w.Count, w.Last, w.Message))
		}
	}

	if d.Prom == nil {
		res.couldNotRead("no Prometheus configured (--prometheus-url): metric checks skipped")
	} else if workload != "" {
		progress("checking CPU, memory, error rates and latency over " + in.Window)
		res.Findings = append(res.Findings, t.metricFindings(ctx, in.Namespace, workload, in.Window, win, th, res)...)
	}

	if len(podNames) == 0 && workload != "" {
		podNames = t.podsOf(ctx, in.Namespace, workload, res)
	}
	affected := podNames
	if len(affected) > 5 {
		affected = affected[:5]
	}
	if len(affected) > 0 {
		progress(fmt.Sprintf("mining error logs of %d pods", len(affected)))
		res.Logs = t.errorPatterns(ctx, in.Namespace, affected, win, res)
	}

	res.Status, res.Reasons = overallStatus(res.Findings, res.unread)
	res.FixPlan = t.investigationPlan(in, res)
	return res, nil
}

// overallStatus is the worst finding's grade. Without a warning or critical finding it is "healthy" only
// when every source was read and at least one check ran: a check that could not look is not a pass.
func overallStatus(findings []Finding, unread []string) (string, []string) {
	status, ran := "healthy", false
	for _, f := range findings {
		switch f.Severity {
		case "critical":
			status = "critical"
		case "warning":
			if status == "healthy" {
				status = "degraded"
			}
		}
		if f.Severity != "skipped" {
			ran = true
		}
	}
	if status != "healthy" {
		return status, nil
	}
	if len(unread) > 0 {
		return "unknown", unread
	}
	if !ran {
		return "unknown", []string{"every check was skipped for lack of data (see findings)"}
	}
	return status, nil
}

// describe reads the workload detail, trying kinds when only a name is given.
func (t *Triage) describe(ctx context.Context, in InvestigateInput) (*tools.GetArchitectureOutput, string, error) {
	candidates := []string{in.Workload}
	if !strings.Contains(in.Workload, "/") {
		candidates = nil
		for _, k := range []string{"rollout", "deployment", "statefulset", "daemonset"} {
			candidates = append(candidates, k+"/"+in.Workload)
		}
	}
	var lastErr error
	for _, w := range candidates {
		out, err := tools.GetArchitecture(ctx, t.cfg.Tools, tools.GetArchitectureInput{Namespace: in.Namespace, Workload: w, Limit: 50})
		if err != nil {
			lastErr = err
			continue
		}
		if len(out.Workloads) > 0 || len(out.Pods) > 0 {
			return out, w, nil
		}
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("no workload named %s in %s", in.Workload, in.Namespace)
	}
	return nil, "", lastErr
}

// podsOf lists a workload's pods through its selector.
func (t *Triage) podsOf(ctx context.Context, ns, workload string, res *InvestigateResult) []string {
	kc := t.cfg.Tools.Kube
	if kc == nil {
		return nil
	}
	switch kind, _, _ := strings.Cut(workload, "/"); kind {
	case "rollout", "deployment", "statefulset", "daemonset": // the kinds with a pod selector
	default:
		return nil
	}
	sel, err := tools.WorkloadSelector(ctx, kc, ns, workload)
	if err != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("pods of %s: %v", workload, err))
		return nil
	}
	var names []string
	err = kube.ListPods(ctx, kc, ns, sel, 100, func(ps []corev1.Pod) bool {
		for _, p := range ps {
			names = append(names, p.Name)
		}
		return len(names) < 100
	})
	if err != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("pods of %s: %v", workload, err))
	}
	return names
}

func (t *Triage) errorPatterns(ctx context.Context, ns string, pods []string, win time.Duration, res *InvestigateResult) []LogPattern {
	var all []LogPattern
	for _, pod := range pods {
		out, err := tools.GetLogs(ctx, t.cfg.Tools, tools.GetLogsInput{Namespace: ns, Pod: pod, Summarize: true, TailLines: 5000, MaxBytes: 1 << 20})
		if err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("logs of %s: %v", pod, err))
			continue
		}
		for _, pl := range out.Pods {
			if pl.Error != "" {
				res.Notes = append(res.Notes, fmt.Sprintf("logs of %s: %s", pl.Pod, pl.Error))
			}
		}
		kept := 0
		for _, tp := range out.Templates {
			if !tp.Severe && tp.Level != "warn" && tp.Level != "error" {
				continue
			}
			kept++
			merged := false
			for i := range all {
				if all[i].Pattern == tp.Pattern {
					all[i].Count += tp.Count
					all[i].Pods++
					merged = true
				}
			}
			if !merged {
				all = append(all, LogPattern{Pattern: tp.Pattern, Count: tp.Count, Level: tp.Level, Pods: 1, First: tp.First, Last: tp.Last, Examples: tp.Examples})
			}
		}
		if kept == 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("logs of %s: %d lines in %d templates, none at error/warn level", pod, out.TotalLines, len(out.Templates)))
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Count > all[j].Count })
	if len(all) > 10 {
		all = all[:10]
	}
	return all
}

func (t *Triage) investigationPlan(in InvestigateInput, res *InvestigateResult) string {
	sk, ok := skills.Get("fix_plan")
	if !ok {
		return ""
	}
	var rc, rec, dbg strings.Builder
	for _, f := range res.Findings {
		if f.Severity == "warning" || f.Severity == "critical" {
			fmt.Fprintf(&rc, "- **%s** %s: %s (threshold %s) %s\n", f.Check, f.Severity, f.Value, f.Threshold, f.Evidence)
			rec.WriteString(recommendation(f.Check))
		}
	}
	for _, l := range res.Logs {
		fmt.Fprintf(&rc, "- log `%s` ×%d on %d pod(s)\n", l.Pattern, l.Count, l.Pods)
	}
	switch {
	case res.Status == "unknown":
		// Nothing was learnt: say what could not be read, never that all is well.
		rc.WriteString("The workload could not be assessed; these sources could not be read:\n")
		for _, r := range res.Reasons {
			fmt.Fprintf(&rc, "- %s\n", r)
		}
		rec.WriteString("- Make the missing sources readable (cluster access, Prometheus URL, the workload's name and kind), then re-run this investigation before changing anything.\n")
	case rc.Len() == 0:
		rc.WriteString("No check crossed its threshold.\n")
	}
	if rec.Len() == 0 {
		rec.WriteString("No change needed: every check that ran is within its thresholds.\n")
	}
	fmt.Fprintf(&dbg, "1. %s and check recent events.\n", describeCommand(in.Namespace, res.Workload))
	fmt.Fprintf(&dbg, "2. Re-run this investigation after a fix to confirm the checks return to ok.\n")
	for i, l := range res.Logs {
		if i == 2 {
			break
		}
		for _, ex := range l.Examples[:min(1, len(l.Examples))] {
			dbg.WriteString("\n```text\n" + strings.TrimRight(ex, "\n") + "\n```\n")
		}
	}
	for _, e := range res.Events {
		dbg.WriteString("- event: " + e + "\n")
	}
	repo := firstNonEmpty(in.RepoURL, t.cfg.DefaultRepo, "(not configured)")
	return skills.Render(sk.Body, map[string]string{
		"title": fmt.Sprintf("%s/%s is %s", in.Namespace, res.Workload, res.Status), "repository": repo, "baseBranch": t.cfg.DefaultBaseBranch,
		"summary": res.Summary(), "rootCauses": rc.String(), "affectedServices": fmt.Sprintf("- `%s` in namespace `%s`", res.Workload, in.Namespace),
		"recommendations": rec.String(), "debuggingSteps": dbg.String(), "issue": "(none yet)",
	})
}

// describeCommand is the kubectl command to look at the workload. kubectl needs the kind: when it is not
// known (the workload was not found), the command lists every workload kind with that name.
func describeCommand(ns, workload string) string {
	if kind, name, ok := strings.Cut(workload, "/"); ok && kind != "" && name != "" {
		return fmt.Sprintf("`kubectl -n %s describe %s/%s`", ns, kind, name)
	}
	return fmt.Sprintf("`kubectl -n %s get rollouts.argoproj.io,deployments,statefulsets,daemonsets %s` (find its kind), then `kubectl -n %s describe <kind>/%s`", ns, workload, ns, workload)
}

func recommendation(check string) string {
	switch check {
	case "cpu_pct_of_limit":
		return "- CPU near its limit: profile the hot path or raise the CPU limit/replicas.\n"
	case "memory_pct_of_limit", "memory_growth":
		return "- Memory near its limit or growing: look for unbounded caches/goroutines (heap profile), then fix or raise the limit.\n"
	case "oom_killed":
		return "- OOMKilled containers: reduce memory use or raise the memory limit; check for leaks.\n"
	case "crash_loop", "restarts", "restarts_in_window":
		return "- Restarting containers: read the previous container's logs (`get_logs previous:true`) for the crash cause.\n"
	case "error_rate_5xx":
		return "- Server errors: fix the failing handler shown in the error logs; roll back the last deploy if it started then.\n"
	case "error_rate_4xx":
		return "- Client errors: check for a changed API contract or auth configuration.\n"
	case "latency_p95":
		return "- Slow responses: check downstream dependencies and recent changes to the slow endpoints.\n"
	}
	return ""
}
