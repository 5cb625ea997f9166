package tools

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"golang.org/x/sync/errgroup"

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
	maxPoints := clamp(in.MaxPoints, 30, 2, 200)
	rng, err := metricsRange(window, in.Step, maxPoints)
	if err != nil {
		return nil, err
	}
	step := rng.Step
	out := &GetMetricsOutput{Window: window, Step: model.Duration(step).String(), Metrics: []MetricResult{}}

	if in.PromQL != "" {
		return rawPromQL(ctx, pc, in, out, rng, maxPoints)
	}
	if err := checkMetricsTarget(in); err != nil {
		return nil, err
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

// metricsRange turns window and step into a query range ending now, with at most maxPoints steps.
func metricsRange(window, stepIn string, maxPoints int) (v1.Range, error) {
	win, err := model.ParseDuration(window)
	if err != nil || win <= 0 {
		return v1.Range{}, fmt.Errorf("window %q: want a Prometheus duration like 15m or 1h", window)
	}
	step := time.Duration(win) / time.Duration(maxPoints)
	if stepIn != "" {
		s, err := model.ParseDuration(stepIn)
		if err != nil || s <= 0 {
			return v1.Range{}, fmt.Errorf("step %q: want a Prometheus duration like 30s or 1m", stepIn)
		}
		step = max(time.Duration(s), time.Duration(win)/time.Duration(maxPoints)) // never more than maxPoints
	}
	step = max(step.Round(time.Second), time.Second)
	end := time.Now()
	return v1.Range{Start: end.Add(-time.Duration(win)), End: end, Step: step}, nil
}

// rawPromQL runs the caller's own query (instant at the range's end, or over the range) into out.
func rawPromQL(ctx context.Context, pc prom.Client, in GetMetricsInput, out *GetMetricsOutput, rng v1.Range, maxPoints int) (*GetMetricsOutput, error) {
	out.Selector = "(raw promql)"
	mr := MetricResult{Name: "promql", Query: in.PromQL}
	var val model.Value
	var warn []string
	var err error
	if in.Instant {
		val, warn, err = pc.Query(ctx, in.PromQL, rng.End)
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

// checkMetricsTarget rejects a named-metrics request that does not say which pods to measure.
func checkMetricsTarget(in GetMetricsInput) error {
	if in.Namespace == "" {
		return fmt.Errorf("namespace is required (or give promql)")
	}
	if (in.Workload == "") == (in.Rollout == "") {
		return fmt.Errorf("give exactly one of workload or rollout (or promql)")
	}
	if in.Role != "" && in.Rollout == "" {
		return fmt.Errorf("role needs rollout")
	}
	if in.Role != "" && in.Role != "stable" && in.Role != "canary" {
		return fmt.Errorf("role %q: want stable or canary", in.Role)
	}
	return nil
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
