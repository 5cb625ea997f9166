package tools

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/prom"
)

// GetMetricsInput selects pods (workload, or rollout + role) and a window, or runs raw PromQL.
type GetMetricsInput struct {
	Namespace string   `json:"namespace,omitempty" jsonschema:"namespace of the workload (required unless promql is given)"`
	Workload  string   `json:"workload,omitempty" jsonschema:"workload name, or kind/name (deployment/api, statefulset/db, daemonset/agent, rollout/web)"`
	Rollout   string   `json:"rollout,omitempty" jsonschema:"Argo Rollout name (narrow with role)"`
	Role      string   `json:"role,omitempty" jsonschema:"with rollout: stable or canary pods only"`
	Window    string   `json:"window,omitempty" jsonschema:"how far back, Prometheus duration like 15m, 1h (default 30m)"`
	Step      string   `json:"step,omitempty" jsonschema:"resolution of returned series, e.g. 1m (default: window/maxPoints)"`
	MaxPoints int      `json:"maxPoints,omitempty" jsonschema:"points per series (default 30, max 200)"`
	Metrics   []string `json:"metrics,omitempty" jsonschema:"subset of metrics to return (default all): cpu_cores cpu_limit_pct memory_bytes memory_limit_pct request_rate rate_4xx rate_5xx error_ratio latency_p50 latency_p95 latency_p99 restarts"`
	ByPod     bool     `json:"byPod,omitempty" jsonschema:"one series per pod instead of one aggregate (capped at 20 series)"`
	PromQL    string   `json:"promql,omitempty" jsonschema:"raw PromQL instead of the named metrics: a range query over window, or an instant query with instant:true"`
	Instant   bool     `json:"instant,omitempty" jsonschema:"with promql: evaluate once, now"`
}

// GetMetricsOutput holds one entry per metric; a metric without data is status missing, never zero.
type GetMetricsOutput struct {
	Selector string         `json:"selector" jsonschema:"PromQL label matchers used for the pods"`
	Pods     int            `json:"pods,omitempty" jsonschema:"pods matched in the cluster (0 when matched by name pattern only)"`
	Window   string         `json:"window"`
	Step     string         `json:"step"`
	Metrics  []MetricResult `json:"metrics"`
	Missing  []string       `json:"missing,omitempty" jsonschema:"metrics with no data: inconclusive, not zero"`
	// HTTPSource names where request, error and latency series were found, or why none was.
	HTTPSource string   `json:"httpSource,omitempty" jsonschema:"metrics source of the request, error and latency series (discovered: app, then mesh, then ingress), or why none was found"`
	Notes      []string `json:"notes,omitempty"`
}

type MetricResult struct {
	Name    string         `json:"name"`
	Unit    string         `json:"unit,omitempty"`
	Status  string         `json:"status" jsonschema:"ok, missing (no series: not scraped, wrong name or labels) or error"`
	Source  string         `json:"source,omitempty" jsonschema:"metrics source (prom table row) the series came from; prometheus.promql when overridden"`
	Why     string         `json:"why,omitempty" jsonschema:"why a missing metric has no data"`
	Error   string         `json:"error,omitempty"`
	Query   string         `json:"query"`
	Last    *float64       `json:"last,omitempty" jsonschema:"latest value (aggregate series)"`
	Avg     *float64       `json:"avg,omitempty"`
	Min     *float64       `json:"min,omitempty"`
	Max     *float64       `json:"max,omitempty"`
	Slope   *float64       `json:"slopePerMin,omitempty" jsonschema:"least-squares growth per minute over the window (e.g. memory leak)"`
	Series  []MetricSeries `json:"series,omitempty"`
	Warning string         `json:"warning,omitempty"`
}

type MetricSeries struct {
	Labels map[string]string `json:"labels,omitempty"`
	Points [][2]float64      `json:"points" jsonschema:"[unix seconds, value] pairs, downsampled"`
}

type metricDef struct {
	name, unit, query string
	source, why       string // the HTTP metrics' discovered source, or why there is none (then query is "")
}

// Default PromQL. {{sel}} is the pod label matchers, {{rate}} the rate window, {{by}} the grouping
// labels ("" or "pod") and {{by_le}} the same plus le. cAdvisor / kube-state-metrics names; the HTTP
// metrics have no query of their own: discovery fills in the source that has them (prom.Sources).
var defaultMetrics = []metricDef{
	{name: "cpu_cores", unit: "cores", query: `sum by ({{by}}) (rate(container_cpu_usage_seconds_total{{{sel}},container!="",container!="POD"}[{{rate}}]))`},
	{name: "cpu_limit_pct", unit: "%", query: `100 * sum by ({{by}}) (rate(container_cpu_usage_seconds_total{{{sel}},container!="",container!="POD"}[{{rate}}])) / sum by ({{by}}) (kube_pod_container_resource_limits{{{sel}},resource="cpu"})`},
	{name: "memory_bytes", unit: "bytes", query: `sum by ({{by}}) (container_memory_working_set_bytes{{{sel}},container!="",container!="POD"})`},
	{name: "memory_limit_pct", unit: "%", query: `100 * sum by ({{by}}) (container_memory_working_set_bytes{{{sel}},container!="",container!="POD"}) / sum by ({{by}}) (kube_pod_container_resource_limits{{{sel}},resource="memory"})`},
	{name: "request_rate", unit: "req/s"},
	{name: "rate_4xx", unit: "req/s"},
	{name: "rate_5xx", unit: "req/s"},
	{name: "error_ratio", unit: "ratio"},
	{name: "latency_p50", unit: "seconds"},
	{name: "latency_p95", unit: "seconds"},
	{name: "latency_p99", unit: "seconds"},
	{name: "restarts", unit: "count", query: `sum by ({{by}}) (kube_pod_container_status_restarts_total{{{sel}}})`},
}

// MetricNames lists the named metrics whose PromQL can be overridden (config prometheus.promql).
func MetricNames() []string {
	out := make([]string, len(defaultMetrics))
	for i, m := range defaultMetrics {
		out[i] = m.name
	}
	return out
}

// PromQLNames lists what config prometheus.promql may override: the named metrics and requests (the
// request count compare_canary normalises log counts by).
func PromQLNames() []string { return append(MetricNames(), "requests") }

// RenderPromQL fills a metric template: the {{selector}} label matchers and the {{window}} rate window.
func RenderPromQL(tmpl, selector, rateWindow string, byPod bool) string {
	by, byLe := "", "le"
	if byPod {
		by, byLe = "pod", "le,pod"
	}
	return strings.NewReplacer("{{sel}}", selector, "{{selector}}", selector, "{{rate}}", rateWindow, "{{window}}", rateWindow,
		"{{by}}", by, "{{by_le}}", byLe).Replace(tmpl)
}

// GetMetrics queries Prometheus for the named metrics (or raw PromQL) over a window.
func GetMetrics(ctx context.Context, d Deps, in GetMetricsInput) (*GetMetricsOutput, error) {
	pc, err := d.promClient()
	if err != nil {
		return nil, err
	}
	window := in.Window
	if window == "" {
		window = "30m"
	}
	win, err := model.ParseDuration(window)
	if err != nil || win <= 0 {
		return nil, fmt.Errorf("window %q: want a Prometheus duration like 15m or 1h", window)
	}
	maxPoints := clamp(in.MaxPoints, 30, 2, 200)
	step := time.Duration(win) / time.Duration(maxPoints)
	if in.Step != "" {
		s, err := model.ParseDuration(in.Step)
		if err != nil || s <= 0 {
			return nil, fmt.Errorf("step %q: want a Prometheus duration like 30s or 1m", in.Step)
		}
		step = max(time.Duration(s), time.Duration(win)/time.Duration(maxPoints)) // never more than maxPoints
	}
	step = max(step.Round(time.Second), time.Second)
	end := time.Now()
	rng := v1.Range{Start: end.Add(-time.Duration(win)), End: end, Step: step}
	out := &GetMetricsOutput{Window: window, Step: model.Duration(step).String(), Metrics: []MetricResult{}}

	if in.PromQL != "" {
		out.Selector = "(raw promql)"
		mr := MetricResult{Name: "promql", Query: in.PromQL}
		var val model.Value
		var warn []string
		if in.Instant {
			val, warn, err = pc.Query(ctx, in.PromQL, end)
		} else {
			val, warn, err = pc.QueryRange(ctx, in.PromQL, rng)
		}
		fillResult(&mr, val, warn, err, maxPoints, true)
		out.Metrics = append(out.Metrics, mr)
		if mr.Status == "missing" {
			out.Missing = append(out.Missing, mr.Name)
		}
		if mr.Status == "error" && strings.Contains(mr.Error, "unreachable") {
			return nil, fmt.Errorf("%s", mr.Error)
		}
		return out, nil
	}
	if in.Namespace == "" {
		return nil, fmt.Errorf("namespace is required (or give promql)")
	}
	if (in.Workload == "") == (in.Rollout == "") {
		return nil, fmt.Errorf("give exactly one of workload or rollout (or promql)")
	}
	if in.Role != "" && in.Rollout == "" {
		return nil, fmt.Errorf("role needs rollout")
	}
	if in.Role != "" && in.Role != "stable" && in.Role != "canary" {
		return nil, fmt.Errorf("role %q: want stable or canary", in.Role)
	}
	defs := defaultMetrics
	if len(in.Metrics) > 0 {
		if defs, err = metricDefsNamed(in.Metrics); err != nil {
			return nil, err
		}
	}
	side, npods, split, notes, err := metricsSide(ctx, d, in)
	if err != nil {
		return nil, err
	}
	sel, err := side.PodMatchers()
	if err != nil {
		return nil, err
	}
	out.Selector, out.Pods, out.Notes = sel, npods, notes
	ms, err := discoverSources(ctx, d, []prom.Side{side}, split)
	if errors.Is(err, prom.ErrUnreachable) {
		return nil, err
	}
	if err != nil {
		out.Notes = append(out.Notes, err.Error())
	}
	defs = ms.withSource(defs, 0)
	out.HTTPSource, _ = ms.describe()
	if src, ok := ms.source("traffic"); ok && in.ByPod && src.SideBy == prom.ByService {
		out.Notes = append(out.Notes, src.Name+" measures requests in front of the Service: its series are per proxy pod, not per backend pod")
	}
	rateWin := model.Duration(max(2*step, time.Minute)).String()

	out.Metrics = rangeMetrics(ctx, d, pc, defs, sel, rateWin, rng, maxPoints, in.ByPod)
	unreachable := 0
	for _, m := range out.Metrics {
		switch {
		case m.Status == "missing":
			out.Missing = append(out.Missing, m.Name)
		case m.Status == "error" && strings.Contains(m.Error, "unreachable"):
			unreachable++
		}
	}
	if unreachable == len(out.Metrics) && unreachable > 0 {
		return nil, fmt.Errorf("%s", out.Metrics[0].Error)
	}
	return out, nil
}

// rangeMetrics runs the named metrics' queries (config prometheus.promql overrides honoured) over rng for
// the pods matched by sel, four at a time.
func rangeMetrics(ctx context.Context, d Deps, pc prom.Client, defs []metricDef, sel, rateWin string, rng v1.Range, maxPoints int, byPod bool) []MetricResult {
	out := make([]MetricResult, len(defs))
	var g errgroup.Group
	g.SetLimit(4)
	for i, m := range defs {
		tmpl, source := m.query, m.source
		if o := d.PromQL[m.name]; o != "" {
			tmpl, source = o, "prometheus.promql"
		}
		if tmpl == "" { // no source has it: say why instead of querying a name that is not there
			out[i] = MetricResult{Name: m.name, Unit: m.unit, Status: "missing", Why: m.why}
			continue
		}
		q := RenderPromQL(tmpl, sel, rateWin, byPod)
		g.Go(func() error {
			mr := MetricResult{Name: m.name, Unit: m.unit, Query: q, Source: source}
			val, warn, err := pc.QueryRange(ctx, q, rng)
			fillResult(&mr, val, warn, err, maxPoints, byPod)
			if mr.Status == "missing" {
				mr.Why = missingWhy(m.name, source)
			}
			out[i] = mr
			return nil // a failed query is reported in its own result, not as the group's error
		})
	}
	_ = g.Wait()
	return out
}

// missingWhy says why a queried metric has no series.
func missingWhy(name, source string) string {
	switch {
	case source == "prometheus.promql":
		return "the configured prometheus.promql." + name + " query returned no series"
	case source != "" && strings.HasPrefix(name, "rate_"):
		return "no " + source + " series of such responses in the window: none answered so (a counter has no series before its first)"
	case source != "":
		return "no " + source + " series in the window"
	case strings.HasPrefix(name, "cpu") || strings.HasPrefix(name, "memory"):
		return "no cAdvisor container series (and, for % of limit, kube-state-metrics limits) for these pods"
	case name == "restarts":
		return "no kube-state-metrics restart counter for these pods"
	}
	return ""
}

// metricDefsNamed looks up metrics of the default table by name.
func metricDefsNamed(names []string) ([]metricDef, error) {
	var defs []metricDef
	for _, name := range names {
		i := slices.IndexFunc(defaultMetrics, func(m metricDef) bool { return m.name == name })
		if i < 0 {
			return nil, fmt.Errorf("unknown metric %q (known: %s)", name, strings.Join(MetricNames(), ", "))
		}
		defs = append(defs, defaultMetrics[i])
	}
	return defs, nil
}

// metricsSide resolves the pods to measure (exact names from the cluster when possible, else a name
// pattern) and the Services and Ingresses that route to them alone, so proxies' series can be found too.
func metricsSide(ctx context.Context, d Deps, in GetMetricsInput) (prom.Side, int, TrafficSplit, []string, error) {
	side := prom.Side{Namespace: in.Namespace}
	kc := d.Kube
	if kc == nil {
		name := in.Rollout
		if name == "" {
			_, name, _ = cutKind(in.Workload)
		}
		if in.Role != "" {
			return side, 0, TrafficSplit{}, nil, fmt.Errorf("role needs the cluster to find the %s pods: %w", in.Role, kube.ErrNoCluster)
		}
		side.PodPattern = regexp.QuoteMeta(name) + "-.+"
		return side, 0, TrafficSplit{}, []string{"no cluster configured: pods matched by name prefix only"}, nil
	}
	selector, split, err := podSelectorOf(ctx, kc, in)
	if err != nil {
		return side, 0, split, nil, err
	}
	podLabels := map[string]labels.Set{} // one per revision, for the Services selecting any of them
	err = kube.ListPods(ctx, kc, in.Namespace, selector, 500, func(ps []corev1.Pod) bool {
		for _, p := range ps {
			side.Pods = append(side.Pods, p.Name)
			podLabels[labels.Set(p.Labels).String()] = p.Labels
		}
		return len(side.Pods) <= 2000
	})
	if err != nil {
		return side, 0, split, nil, err
	}
	if len(side.Pods) == 0 {
		return side, 0, split, nil, fmt.Errorf("no pods match %q in namespace %s: nothing to measure", selector, in.Namespace)
	}
	sort.Strings(side.Pods)
	side.Services, side.Ingresses = routesOf(split, in.Role)
	if len(side.Services) == 0 && in.Role == "" {
		side.Services = servicesSelecting(ctx, kc, in.Namespace, podLabels)
	}
	return side, len(side.Pods), split, nil, nil
}

// podSelectorOf is the label selector of the pods measured: the workload's, or the rollout's (one
// revision's with role) along with its traffic split.
func podSelectorOf(ctx context.Context, kc kube.Client, in GetMetricsInput) (string, TrafficSplit, error) {
	if in.Rollout == "" {
		sel, err := workloadSelector(ctx, kc, in.Namespace, in.Workload)
		return sel, TrafficSplit{}, err
	}
	ro, err := kc.GetRollout(ctx, in.Namespace, in.Rollout)
	if err != nil {
		return "", TrafficSplit{}, err
	}
	split, err := rolloutSplit(ro)
	if err != nil {
		return "", split, err
	}
	switch in.Role {
	case "stable":
		return ro.PodSelector(ro.StableHash), split, nil
	case "canary":
		if !ro.CanaryInFlight() {
			return "", split, fmt.Errorf("rollout %s/%s has no canary: its current revision %s is the stable one", in.Namespace, in.Rollout, ro.CurrentHash)
		}
		return ro.PodSelector(ro.CanaryHash), split, nil
	}
	return ro.Selector, split, nil
}

// routesOf gives the Services and Ingresses of a rollout's split that carry one role's requests (both
// roles' without one).
func routesOf(split TrafficSplit, role string) (services, ingresses []string) {
	for i, r := range []string{"stable", "canary"} {
		if role != "" && role != r {
			continue
		}
		if split.Services[i] != "" {
			services = append(services, split.Services[i])
		}
		ingresses = append(ingresses, split.Ingresses[i]...)
	}
	return services, ingresses
}

// servicesSelecting lists the Services whose selector matches some of the pods (a proxy in front of a
// workload labels its series with them). A failure to list leaves the proxies' sources unlooked-for.
func servicesSelecting(ctx context.Context, kc kube.Client, ns string, podLabels map[string]labels.Set) []string {
	svcs, err := kc.Typed().CoreV1().Services(ns).List(ctx, metav1.ListOptions{Limit: 500})
	if err != nil {
		return nil
	}
	var out []string
	for _, svc := range svcs.Items {
		if len(svc.Spec.Selector) == 0 {
			continue
		}
		sel := labels.SelectorFromSet(svc.Spec.Selector)
		for _, l := range podLabels {
			if sel.Matches(l) {
				out = append(out, svc.Name)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

func cutKind(w string) (kind, name string, ok bool) {
	if k, n, found := strings.Cut(w, "/"); found {
		return normKind(k), n, true
	}
	return "", w, false
}

// workloadSelector finds the pod selector of a workload given as name or kind/name.
func workloadSelector(ctx context.Context, kc kube.Client, ns, w string) (string, error) {
	kind, name, explicit := cutKind(w)
	if explicit && kind == "" {
		return "", fmt.Errorf("workload %q: kind must be rollout, deployment, statefulset or daemonset", w)
	}
	apps := kc.Typed().AppsV1()
	try := []string{"Rollout", "Deployment", "StatefulSet", "DaemonSet"}
	if explicit {
		try = []string{kind}
	}
	for _, k := range try {
		var ls *metav1.LabelSelector
		var err error
		switch k {
		case "Rollout":
			var ro *kube.Rollout
			if ro, err = kc.GetRollout(ctx, ns, name); err == nil {
				return ro.Selector, nil
			}
			if !kube.IsKind(err, kube.KindNotFound) {
				return "", err
			}
			continue
		case "Deployment":
			dep, e := apps.Deployments(ns).Get(ctx, name, metav1.GetOptions{})
			if err = e; err == nil {
				ls = dep.Spec.Selector
			}
		case "StatefulSet":
			sts, e := apps.StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
			if err = e; err == nil {
				ls = sts.Spec.Selector
			}
		case "DaemonSet":
			ds, e := apps.DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
			if err = e; err == nil {
				ls = ds.Spec.Selector
			}
		default:
			return "", fmt.Errorf("workload kind %s has no metrics selector; use rollout, deployment, statefulset or daemonset", k)
		}
		if err == nil && ls != nil {
			s, err := metav1.LabelSelectorAsSelector(ls)
			if err != nil {
				return "", err
			}
			return s.String(), nil
		}
		err = kube.Explain(err, kc.Server(), fmt.Sprintf("%s %s/%s", strings.ToLower(k), ns, name))
		if !kube.IsKind(err, kube.KindNotFound) {
			return "", err
		}
	}
	return "", fmt.Errorf("no workload named %q in namespace %s (looked for %s); call get_architecture to list them", name, ns, strings.Join(try, ", "))
}

func fillResult(mr *MetricResult, val model.Value, warn []string, err error, maxPoints int, keepLabels bool) {
	if err != nil {
		mr.Status, mr.Error = "error", err.Error()
		return
	}
	if len(warn) > 0 {
		mr.Warning = strings.Join(warn, "; ")
	}
	var series []MetricSeries
	var raw [][2]float64
	switch v := val.(type) {
	case model.Matrix:
		for _, s := range v[:min(len(v), 20)] {
			ms := MetricSeries{Points: [][2]float64{}}
			for _, p := range s.Values {
				if f := float64(p.Value); !math.IsNaN(f) && !math.IsInf(f, 0) {
					ms.Points = append(ms.Points, [2]float64{float64(p.Timestamp.Unix()), round(f)})
				}
			}
			if len(ms.Points) > 0 && raw == nil {
				raw = ms.Points // stats come from the full-resolution points
			}
			ms.Points = downsample(ms.Points, maxPoints)
			if len(ms.Points) > 0 {
				if keepLabels && len(s.Metric) > 0 {
					ms.Labels = labelMap(s.Metric)
				}
				series = append(series, ms)
			}
		}
		if len(v) > 20 {
			mr.Warning = strings.TrimPrefix(mr.Warning+fmt.Sprintf("; %d series, first 20 shown", len(v)), "; ")
		}
	case model.Vector:
		for _, s := range v[:min(len(v), 20)] {
			if f := float64(s.Value); !math.IsNaN(f) && !math.IsInf(f, 0) {
				series = append(series, MetricSeries{Labels: labelMap(s.Metric), Points: [][2]float64{{float64(s.Timestamp.Unix()), round(f)}}})
			}
		}
	case *model.Scalar:
		if f := float64(v.Value); !math.IsNaN(f) {
			series = append(series, MetricSeries{Points: [][2]float64{{float64(v.Timestamp.Unix()), round(f)}}})
		}
	}
	if len(series) == 0 {
		mr.Status = "missing"
		return
	}
	mr.Status = "ok"
	mr.Series = series
	if len(series) == 1 {
		pts := series[0].Points
		if raw != nil {
			pts = raw
		}
		last, mn, mx, sum := pts[len(pts)-1][1], math.Inf(1), math.Inf(-1), 0.0
		for _, p := range pts {
			mn, mx, sum = math.Min(mn, p[1]), math.Max(mx, p[1]), sum+p[1]
		}
		avg := round(sum / float64(len(pts)))
		mr.Last, mr.Min, mr.Max, mr.Avg = &last, &mn, &mx, &avg
		if len(pts) >= 3 {
			s := round(slope(pts) * 60)
			mr.Slope = &s
		}
	}
}

func labelMap(m model.Metric) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[string(k)] = string(v)
	}
	return out
}

func round(f float64) float64 {
	if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return f
	}
	// 4 significant digits keep series readable and small.
	mag := math.Pow(10, 3-math.Floor(math.Log10(math.Abs(f))))
	return math.Round(f*mag) / mag
}

// slope is the least-squares slope per second.
func slope(pts [][2]float64) float64 {
	n := float64(len(pts))
	var sx, sy, sxx, sxy float64
	for _, p := range pts {
		x := p[0] - pts[0][0]
		sx, sy, sxx, sxy = sx+x, sy+p[1], sxx+x*x, sxy+x*p[1]
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / den
}

// downsample keeps at most n points by averaging buckets (the range step already bounds most series).
func downsample(pts [][2]float64, n int) [][2]float64 {
	if len(pts) <= n {
		return pts
	}
	out := make([][2]float64, 0, n)
	for i := 0; i < n; i++ {
		lo, hi := i*len(pts)/n, (i+1)*len(pts)/n
		var sum float64
		for _, p := range pts[lo:hi] {
			sum += p[1]
		}
		out = append(out, [2]float64{pts[hi-1][0], round(sum / float64(hi-lo))})
	}
	return out
}

func init() {
	Add(Spec{
		Name:  "get_metrics",
		Title: "Workload metrics",
		Description: "Prometheus metrics of a workload's pods over a window: CPU (cores, % of limit), memory (working set, % of limit, growth slope per minute), " +
			"request rate, 4xx and 5xx rate, 5xx share of requests (error_ratio), p50/p95/p99 latency, restarts. Select pods with workload (name or kind/name) or rollout + role (stable|canary) " +
			"to compare an Argo Rollouts canary with stable. Series are downsampled to maxPoints; each metric has last/avg/min/max. A metric without data " +
			"is reported as missing with why, never as zero. Request, error and latency series come from the source discovered for these pods (the app's own client " +
			"library, Micrometer, OpenTelemetry, then an Istio or Linkerd sidecar, then ingress-nginx, Traefik or Envoy in front of their Services), named " +
			"in httpSource and per metric. promql runs any query (range over window, or instant).",
		Toolset:    ToolsetMetrics,
		Idempotent: true,
		OpenWorld:  false,
		Timeout:    90 * time.Second,
		InputProps: map[string]map[string]any{
			"role":      {"enum": []string{"stable", "canary"}},
			"maxPoints": {"minimum": 2, "maximum": 200, "default": 30},
			"window":    {"default": "30m", "examples": []string{"15m", "1h"}},
			"metrics":   {"items": map[string]any{"type": "string", "enum": MetricNames()}},
		},
	}, GetMetrics)
}
