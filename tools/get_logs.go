package tools

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/logmine"
)

// GetLogsInput selects pods (one of pod, labelSelector, rollout) and how much of their logs to return.
type GetLogsInput struct {
	Namespace     string `json:"namespace" jsonschema:"namespace of the pods"`
	Pod           string `json:"pod,omitempty" jsonschema:"one pod by name"`
	LabelSelector string `json:"labelSelector,omitempty" jsonschema:"all pods matching this label selector, e.g. app=web"`
	Rollout       string `json:"rollout,omitempty" jsonschema:"all pods of this Argo Rollout (narrow with role)"`
	Role          string `json:"role,omitempty" jsonschema:"with rollout: stable or canary pods only (default: both, each pod tagged with its role)"`
	Container     string `json:"container,omitempty" jsonschema:"container name (default: the pod's default container)"`
	SinceSeconds  int64  `json:"sinceSeconds,omitempty" jsonschema:"only lines newer than this many seconds"`
	TailLines     int64  `json:"tailLines,omitempty" jsonschema:"lines to read from the end of each pod's log before filtering (default: enough for the budget; 5000 with grep, 10000 with summarize)"`
	Previous      bool   `json:"previous,omitempty" jsonschema:"logs of the previous (crashed) container instance"`
	Grep          string `json:"grep,omitempty" jsonschema:"keep only lines matching this regular expression (RE2; prefix (?i) for case-insensitive)"`
	Summarize     bool   `json:"summarize,omitempty" jsonschema:"return log templates (patterns with counts, severity, first/last seen, examples) instead of raw lines: best for comparing many pods"`
	MaxLines      int    `json:"maxLines,omitempty" jsonschema:"line budget over all pods (default 500, max 5000); shared evenly so every pod is represented"`
	MaxBytes      int    `json:"maxBytes,omitempty" jsonschema:"byte budget over all returned lines (default 65536)"`
}

// GetLogsOutput holds each pod's lines (or the templates) and says exactly what was cut.
type GetLogsOutput struct {
	Namespace  string        `json:"namespace"`
	Selector   string        `json:"selector" jsonschema:"label selector (or pod name) actually used"`
	Pods       []PodLog      `json:"pods" jsonschema:"one entry per pod, sorted by role then name"`
	Templates  []LogTemplate `json:"templates,omitempty" jsonschema:"summarize only: mined templates, most frequent first"`
	TotalLines int           `json:"totalLines" jsonschema:"lines read (after grep) over all pods"`
	Returned   int           `json:"returned" jsonschema:"lines returned"`
	Truncated  bool          `json:"truncated"`
	Truncation string        `json:"truncation,omitempty" jsonschema:"what was cut and how to get more"`
}

type PodLog struct {
	Pod       string   `json:"pod"`
	Container string   `json:"container,omitempty"`
	Role      string   `json:"role,omitempty"`
	Lines     []string `json:"lines,omitempty" jsonschema:"newest last; secrets redacted"`
	Read      int      `json:"read" jsonschema:"lines read from this pod (after grep)"`
	Omitted   int      `json:"omitted,omitempty" jsonschema:"older lines of this pod left out by the budget"`
	Error     string   `json:"error,omitempty"`
}

type LogTemplate struct {
	Pattern  string   `json:"pattern" jsonschema:"template; <*> marks variable parts"`
	Count    int      `json:"count"`
	Level    string   `json:"level,omitempty"`
	Severe   bool     `json:"severe" jsonschema:"panic, fatal, OOM, stack trace or error level"`
	Pods     int      `json:"pods" jsonschema:"how many pods logged it"`
	First    string   `json:"first,omitempty"`
	Last     string   `json:"last,omitempty"`
	Examples []string `json:"examples,omitempty"`
}

const logConcurrency = 8

// GetLogs fetches the logs of every matching pod with bounded concurrency.
func GetLogs(ctx context.Context, d Deps, in GetLogsInput) (*GetLogsOutput, error) {
	kc, err := d.kubeClient()
	if err != nil {
		return nil, err
	}
	grep, err := checkLogsInput(in)
	if err != nil {
		return nil, err
	}
	maxLines := clamp(in.MaxLines, 500, 1, 5000)
	maxBytes := clamp(in.MaxBytes, 64<<10, 1024, 1<<20)

	pods, selector, roles, err := matchPods(ctx, kc, in)
	if err != nil {
		return nil, err
	}
	out := &GetLogsOutput{Namespace: in.Namespace, Selector: selector, Pods: []PodLog{}}
	if len(pods) == 0 {
		out.Truncation = "no pods matched " + selector
		return out, nil
	}
	share := max(maxLines/len(pods), 1)
	reqs := make([]kube.LogRequest, 0, len(pods))
	for _, p := range pods {
		reqs = append(reqs, kube.LogRequest{Namespace: p.Namespace, Pod: p.Name, Container: pickContainer(p, in.Container),
			SinceSeconds: in.SinceSeconds, TailLines: logTail(in, share, grep), Previous: in.Previous})
	}
	var sum *summarizer
	if in.Summarize {
		sum = newSummarizer(d, time.Now())
	}
	results := map[string]*PodLog{}
	err = kc.PodLogs(ctx, reqs, logConcurrency, func(r kube.LogResult) {
		results[r.Req.Pod] = readPodLog(d, r, roles[r.Req.Pod], grep, sum, share)
	})
	if err != nil {
		return nil, err
	}
	for _, p := range pods {
		if pl := results[p.Name]; pl != nil {
			out.Pods = append(out.Pods, *pl)
		}
	}
	sort.SliceStable(out.Pods, func(i, j int) bool {
		if out.Pods[i].Role != out.Pods[j].Role {
			return out.Pods[i].Role > out.Pods[j].Role // stable before canary
		}
		return out.Pods[i].Pod < out.Pods[j].Pod
	})
	fitLogs(d, out, sum, logBudget{lines: maxLines, bytes: maxBytes, share: share, pods: len(pods)})
	return out, nil
}

// checkLogsInput refuses an input that names no single target, and compiles its grep.
func checkLogsInput(in GetLogsInput) (*regexp.Regexp, error) {
	if in.Namespace == "" {
		return nil, fmt.Errorf("namespace is required")
	}
	n := 0
	for _, s := range []string{in.Pod, in.LabelSelector, in.Rollout} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("give exactly one of pod, labelSelector or rollout")
	}
	if in.Role != "" && in.Rollout == "" {
		return nil, fmt.Errorf("role needs rollout")
	}
	if in.Grep == "" {
		return nil, nil
	}
	grep, err := regexp.Compile(in.Grep)
	if err != nil {
		return nil, fmt.Errorf("grep %q is not a valid regular expression: %w", in.Grep, err)
	}
	return grep, nil
}

// logTail is how many lines to ask each pod for: the caller's tailLines, else enough to summarise or
// grep, else the pod's share of maxLines.
func logTail(in GetLogsInput, share int, grep *regexp.Regexp) int64 {
	switch {
	case in.TailLines > 0:
		return in.TailLines
	case in.Summarize:
		return 10000
	case grep != nil:
		return 5000
	}
	return int64(share)
}

// readPodLog is one pod's answer: mined into sum when summarising, else its last share lines.
func readPodLog(d Deps, r kube.LogResult, role string, grep *regexp.Regexp, sum *summarizer, share int) *PodLog {
	pl := &PodLog{Pod: r.Req.Pod, Container: r.Req.Container, Role: role}
	if r.Err != nil {
		pl.Error = d.redact(r.Err.Error())
	}
	if sum != nil {
		pl.Read = sum.minePod(r.Req.Pod, filterReader(r.Data, grep))
		return pl
	}
	lines := splitLines(r.Data, grep)
	pl.Read = len(lines)
	if len(lines) > share {
		pl.Omitted = len(lines) - share
		lines = lines[len(lines)-share:]
	}
	pl.Lines = lines
	return pl
}

type logBudget struct{ lines, bytes, share, pods int }

// fitLogs applies the byte budget (or summarises), counts what was read and returned, and says what
// was left out and how to get it.
func fitLogs(d Deps, out *GetLogsOutput, sum *summarizer, b logBudget) {
	var cut []string
	if sum != nil {
		if t := sum.truncation(); t != "" {
			cut = append(cut, t)
		}
		out.Templates, out.Returned = summarizeTemplates(d, sum.miner, sum.pods, b.lines, b.bytes, &cut)
	} else {
		applyByteBudget(d, out, b.bytes, &cut)
	}
	omitted := 0
	for i := range out.Pods {
		out.TotalLines += out.Pods[i].Read
		omitted += out.Pods[i].Omitted
		if sum == nil {
			out.Returned += len(out.Pods[i].Lines)
		}
	}
	if omitted > 0 {
		cut = append([]string{fmt.Sprintf("%d older lines left out: at most %d lines per pod (maxLines=%d over %d pods)", omitted, b.share, b.lines, b.pods)}, cut...)
	}
	if len(cut) > 0 {
		out.Truncated = true
		out.Truncation = strings.Join(cut, "; ") + "; raise maxLines/maxBytes, narrow with grep or sinceSeconds, or use summarize:true"
	}
}

func clamp(v, def, lo, hi int) int {
	if v <= 0 {
		v = def
	}
	return max(lo, min(v, hi))
}

// matchPods resolves the pod choice to pods, the selector used and, for rollouts, each pod's role.
func matchPods(ctx context.Context, kc kube.Client, in GetLogsInput) ([]corev1.Pod, string, map[string]string, error) {
	roles := map[string]string{}
	if in.Pod != "" {
		p, err := kc.Typed().CoreV1().Pods(in.Namespace).Get(ctx, in.Pod, metav1.GetOptions{})
		if err != nil {
			return nil, "", nil, kube.Explain(err, kc.Server(), fmt.Sprintf("pod %s/%s", in.Namespace, in.Pod))
		}
		return []corev1.Pod{*p}, "pod " + in.Pod, roles, nil
	}
	selector := in.LabelSelector
	var ro *kube.Rollout
	if in.Rollout != "" {
		var err error
		if ro, err = kc.GetRollout(ctx, in.Namespace, in.Rollout); err != nil {
			return nil, "", nil, err
		}
		if ro.Selector == "" {
			return nil, "", nil, fmt.Errorf("rollout %s/%s has no status.selector yet: is the Argo Rollouts controller running?", in.Namespace, in.Rollout)
		}
		selector = ro.Selector
		switch in.Role {
		case "":
		case "stable":
			selector = ro.PodSelector(ro.StableHash)
		case "canary":
			if !ro.CanaryInFlight() {
				return nil, "", nil, fmt.Errorf("rollout %s/%s has no canary: its current revision %s is the stable one", in.Namespace, in.Rollout, ro.CurrentHash)
			}
			selector = ro.PodSelector(ro.CanaryHash)
		default:
			return nil, "", nil, fmt.Errorf("role %q: want stable or canary", in.Role)
		}
	}
	if _, err := labels.Parse(selector); err != nil {
		return nil, "", nil, fmt.Errorf("label selector %q: %w", selector, err)
	}
	var pods []corev1.Pod
	err := kube.ListPods(ctx, kc, in.Namespace, selector, 500, func(ps []corev1.Pod) bool {
		for _, p := range ps {
			if p.Status.Phase == corev1.PodPending && len(p.Status.ContainerStatuses) == 0 {
				continue // never started: no log to read
			}
			pods = append(pods, p)
		}
		return true
	})
	if err != nil {
		return nil, "", nil, err
	}
	if ro != nil {
		for _, p := range pods {
			switch p.Labels[kube.PodTemplateHashLabel] {
			case ro.StableHash:
				roles[p.Name] = "stable"
			case ro.CanaryHash:
				roles[p.Name] = "canary"
			}
		}
	}
	return pods, selector, roles, nil
}

func pickContainer(p corev1.Pod, want string) string {
	if want != "" {
		return want
	}
	if c := p.Annotations["kubectl.kubernetes.io/default-container"]; c != "" {
		return c
	}
	if len(p.Spec.Containers) > 0 {
		return p.Spec.Containers[0].Name
	}
	return ""
}

func splitLines(data []byte, grep *regexp.Regexp) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if grep != nil && !grep.MatchString(line) {
			continue
		}
		out = append(out, line)
	}
	return out
}

// filterReader keeps grep-matching lines for the miner (all lines without grep).
func filterReader(data []byte, grep *regexp.Regexp) *bytes.Reader {
	if grep == nil {
		return bytes.NewReader(data)
	}
	var b bytes.Buffer
	for _, l := range splitLines(data, grep) {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return bytes.NewReader(b.Bytes())
}

// applyByteBudget redacts every line and drops the oldest lines, round-robin over pods, until the
// total fits maxBytes, so no pod disappears entirely.
func applyByteBudget(d Deps, out *GetLogsOutput, maxBytes int, cut *[]string) {
	total := 0
	for i := range out.Pods {
		for j, l := range out.Pods[i].Lines {
			l = d.redact(l)
			if len(l) > 2048 {
				l = l[:2048] + "…[line cut at 2048 bytes]"
			}
			out.Pods[i].Lines[j] = l
			total += len(l)
		}
	}
	dropped := 0
	for total > maxBytes {
		progress := false
		for i := range out.Pods {
			if total <= maxBytes {
				break
			}
			if len(out.Pods[i].Lines) > 1 {
				total -= len(out.Pods[i].Lines[0])
				out.Pods[i].Lines = out.Pods[i].Lines[1:]
				out.Pods[i].Omitted++
				dropped++
				progress = true
			}
		}
		if !progress {
			break
		}
	}
	if dropped > 0 {
		*cut = append(*cut, fmt.Sprintf("%d more old lines dropped to fit maxBytes=%d", dropped, maxBytes))
	}
}

func summarizeTemplates(d Deps, m *logmine.Miner, pods map[int]map[string]bool, maxTemplates, maxBytes int, cut *[]string) ([]LogTemplate, int) {
	all := m.Templates()
	// Severe templates first so a budget cut never hides a panic behind chatty info lines.
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Severe != all[j].Severe {
			return all[i].Severe
		}
		return false
	})
	limit := min(len(all), min(maxTemplates, 50))
	var out []LogTemplate
	size := 0
	for _, t := range all[:limit] {
		lt := LogTemplate{Pattern: truncate(d.redact(t.Pattern), 1024), Count: t.Count, Level: t.Level, Severe: t.Severe, Pods: len(pods[t.ID])}
		if !t.First.IsZero() {
			lt.First = t.First.UTC().Format(time.RFC3339)
			lt.Last = t.Last.UTC().Format(time.RFC3339)
		}
		for _, e := range t.Examples[:min(len(t.Examples), 1)] {
			lt.Examples = append(lt.Examples, truncate(d.redact(e), 1024))
		}
		size += len(lt.Pattern) + len(strings.Join(lt.Examples, ""))
		if size > maxBytes && len(out) > 0 {
			break
		}
		out = append(out, lt)
	}
	if len(out) < len(all) {
		*cut = append(*cut, fmt.Sprintf("%d of %d templates shown (severe first, then most frequent)", len(out), len(all)))
	}
	return out, len(out)
}

func init() {
	Add(Spec{
		Name:  "get_logs",
		Title: "Pod logs",
		Description: "Fetch the logs of ALL pods matching one of: pod, labelSelector, or rollout (+ role stable|canary for an Argo Rollout's stable or canary pods). " +
			"Lines are grouped per pod (tagged with its role for rollouts), newest last, secrets redacted. A line/byte budget is shared evenly over the pods " +
			"and any cut is stated in truncation. Use grep to filter, sinceSeconds/tailLines to bound time, previous for a crashed container, and " +
			"summarize:true to get log templates (patterns with counts, severity and examples) instead of raw lines - the best way to compare canary with stable.",
		Toolset:    ToolsetCluster,
		Idempotent: true,
		Timeout:    2 * time.Minute,
		InputProps: map[string]map[string]any{
			"role":     {"enum": []string{"stable", "canary"}},
			"maxLines": {"minimum": 1, "maximum": 5000, "default": 500},
			"maxBytes": {"minimum": 1024, "maximum": 1 << 20, "default": 65536},
		},
	}, GetLogs)
}
