package prom

import (
	"fmt"
	"regexp"
	"strings"
)

// Kind orders sources: the app's own metrics are closest to the code under test, then the mesh sidecar
// in the same pod, then the ingress in front of the Service.
type Kind string

const (
	KindApp       Kind = "app"
	KindMesh      Kind = "mesh"
	KindIngress   Kind = "ingress"
	KindResources Kind = "resources"
)

// SideBy says how a source's series tell stable from canary.
type SideBy string

const (
	// ByPod: the series are scraped from each pod (app or sidecar), so the scrape's pod label names it.
	ByPod SideBy = "pod"
	// ByService: the series come from a proxy in front of the pods and carry the backend Service's name;
	// with Argo traffic routing stable and canary each have their own Service.
	ByService SideBy = "service"
)

// Source is one documented shape of HTTP request metrics. Requests is a counter of requests, Errors the
// matcher selecting failed ones (5xx or the source's failure class), Latency a histogram's _bucket series
// in LatencyUnit seconds (0.001 for milliseconds).
type Source struct {
	Name        string
	Kind        Kind
	Requests    string
	Fixed       string // matchers every query of the source needs (e.g. the inbound direction)
	Errors      string
	Latency     string
	LatencyUnit float64
	SideBy      SideBy
	// ServiceMatch formats label matchers for a Service (%[1]s namespace, %[2]s name, both regex-quoted,
	// %[3]s the label holding the namespace: the exporter's namespace label is renamed exported_namespace
	// when the scrape sets namespace to the proxy's own, and kept when it honours labels).
	ServiceMatch    string
	NamespaceLabels []string
	Doc             string
}

// Sources is the table of known HTTP metric shapes, best first within a kind. Series and labels follow
// each project's documentation (Doc).
var Sources = []Source{
	{Name: "prometheus-go", Kind: KindApp, Requests: "http_requests_total", Errors: `code=~"5.."`,
		Latency: "http_request_duration_seconds_bucket", LatencyUnit: 1, SideBy: ByPod,
		Doc: "client_golang promhttp.InstrumentHandlerCounter / Duration (label code)"},
	{Name: "prometheus-fastapi", Kind: KindApp, Requests: "http_requests_total", Errors: `status=~"5.."`,
		Latency: "http_request_duration_seconds_bucket", LatencyUnit: 1, SideBy: ByPod,
		Doc: "prometheus-fastapi-instrumentator (label status, grouped as 5xx)"},
	{Name: "prometheus-flask", Kind: KindApp, Requests: "flask_http_request_total", Errors: `status=~"5.."`,
		Latency: "flask_http_request_duration_seconds_bucket", LatencyUnit: 1, SideBy: ByPod,
		Doc: "prometheus-flask-exporter (label status)"},
	{Name: "express-prom-bundle", Kind: KindApp, Requests: "http_request_duration_seconds_count", Errors: `status_code=~"5.."`,
		Latency: "http_request_duration_seconds_bucket", LatencyUnit: 1, SideBy: ByPod,
		Doc: "Node express-prom-bundle on prom-client (label status_code)"},
	{Name: "micrometer", Kind: KindApp, Requests: "http_server_requests_seconds_count", Errors: `status=~"5.."`,
		Latency: "http_server_requests_seconds_bucket", LatencyUnit: 1, SideBy: ByPod,
		Doc: "Spring Boot Actuator / Micrometer http.server.requests (labels status, uri, outcome)"},
	{Name: "opentelemetry", Kind: KindApp, Requests: "http_server_request_duration_seconds_count", Errors: `http_response_status_code=~"5.."`,
		Latency: "http_server_request_duration_seconds_bucket", LatencyUnit: 1, SideBy: ByPod,
		Doc: "OpenTelemetry HTTP semantic conventions (stable) http.server.request.duration via the Prometheus exporter"},
	{Name: "opentelemetry-legacy", Kind: KindApp, Requests: "http_server_duration_milliseconds_count", Errors: `http_status_code=~"5.."`,
		Latency: "http_server_duration_milliseconds_bucket", LatencyUnit: 0.001, SideBy: ByPod,
		Doc: "OpenTelemetry HTTP semantic conventions before 1.20 (http.server.duration in ms, http_status_code)"},
	{Name: "istio", Kind: KindMesh, Requests: "istio_requests_total", Fixed: `reporter="destination"`, Errors: `response_code=~"5.."`,
		Latency: "istio_request_duration_milliseconds_bucket", LatencyUnit: 0.001, SideBy: ByPod,
		Doc: "Istio standard metrics, scraped from each pod's sidecar (reporter=destination)"},
	{Name: "linkerd", Kind: KindMesh, Requests: "response_total", Fixed: `direction="inbound"`, Errors: `classification="failure"`,
		Latency: "response_latency_ms_bucket", LatencyUnit: 0.001, SideBy: ByPod,
		Doc: "Linkerd proxy metrics on :4191, inbound responses classified success/failure"},
	{Name: "istio-service", Kind: KindMesh, Requests: "istio_requests_total", Fixed: `reporter="source"`, Errors: `response_code=~"5.."`,
		Latency: "istio_request_duration_milliseconds_bucket", LatencyUnit: 0.001, SideBy: ByService,
		ServiceMatch: `destination_service_namespace="%[1]s",destination_service_name="%[2]s"`,
		Doc:          "Istio standard metrics reported by the caller (gateway), per destination Service"},
	{Name: "ingress-nginx", Kind: KindIngress, Requests: "nginx_ingress_controller_requests", Errors: `status=~"5.."`,
		Latency: "nginx_ingress_controller_request_duration_seconds_bucket", LatencyUnit: 1, SideBy: ByService,
		ServiceMatch: `%[3]s="%[1]s",service="%[2]s"`, NamespaceLabels: []string{"exported_namespace", "namespace"},
		Doc: "ingress-nginx controller metrics (labels ingress, namespace, service, status, canary)"},
	{Name: "traefik", Kind: KindIngress, Requests: "traefik_service_requests_total", Errors: `code=~"5.."`,
		Latency: "traefik_service_request_duration_seconds_bucket", LatencyUnit: 1, SideBy: ByService,
		ServiceMatch: `service=~"%[1]s-%[2]s-[^@]+@kubernetes.*"`,
		Doc:          "Traefik service metrics (service <ns>-<svc>-<port>@kubernetes[crd|gateway], label code)"},
	{Name: "envoy", Kind: KindIngress, Requests: "envoy_cluster_upstream_rq", Errors: `envoy_response_code=~"5.."`,
		Latency: "envoy_cluster_upstream_rq_time_bucket", LatencyUnit: 0.001, SideBy: ByService,
		ServiceMatch: `envoy_cluster_name=~"%[1]s_%[2]s_[0-9]+"`,
		Doc:          "Envoy cluster stats as Contour / Gateway API proxies publish them (cluster <ns>_<svc>_<port>)"},
}

// ResourceSeries are the cAdvisor and kube-state-metrics series the resource metrics read (by pod).
var ResourceSeries = []string{"container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
	"kube_pod_container_resource_limits", "kube_pod_container_status_restarts_total"}

// SourceNamed finds a source of the table.
func SourceNamed(name string) (Source, bool) {
	for _, s := range Sources {
		if s.Name == name {
			return s, true
		}
	}
	return Source{}, false
}

// SourceNames lists the table's names (for errors and completions).
func SourceNames() []string {
	out := make([]string, len(Sources))
	for i, s := range Sources {
		out[i] = s.Name
	}
	return out
}

// Side is one group of pods to measure: its namespace, pod names and (with traffic routing) the Service
// that routes to it alone.
type Side struct {
	Namespace string
	Pods      []string
	Service   string
}

var promNameUnsafe = regexp.MustCompile(`[^a-zA-Z0-9._-]`)

// quoteLabelRegex quotes a Kubernetes name for a PromQL regex inside a double-quoted string.
func quoteLabelRegex(s string) string {
	return strings.ReplaceAll(regexp.QuoteMeta(promNameUnsafe.ReplaceAllString(s, "")), `\`, `\\`)
}

// Selector gives the label matchers selecting the side's series of this source, or why it cannot.
// nsLabel is the namespace label discovery found (see NamespaceLabels); "" takes the first.
func (s Source) Selector(side Side, nsLabel string) (string, error) {
	if nsLabel == "" && len(s.NamespaceLabels) > 0 {
		nsLabel = s.NamespaceLabels[0]
	}
	var m []string
	switch s.SideBy {
	case ByPod:
		if len(side.Pods) == 0 {
			return "", fmt.Errorf("no pods")
		}
		names := make([]string, len(side.Pods))
		for i, p := range side.Pods {
			names[i] = quoteLabelRegex(p)
		}
		m = append(m, fmt.Sprintf(`namespace=%q`, side.Namespace), fmt.Sprintf(`pod=~"^(%s)$"`, strings.Join(names, "|")))
	case ByService:
		if side.Service == "" {
			return "", fmt.Errorf("no Service of its own (the rollout routes no traffic by Service)")
		}
		m = append(m, fmt.Sprintf(s.ServiceMatch, quoteLabelRegex(side.Namespace), quoteLabelRegex(side.Service), nsLabel))
	}
	if s.Fixed != "" {
		m = append(m, s.Fixed)
	}
	return strings.Join(m, ","), nil
}

// Templates gives the source's PromQL for the named HTTP metrics, in get_metrics' template language
// ({{sel}} matchers, {{rate}} window, {{by}} / {{by_le}} grouping).
func (s Source) Templates() map[string]string {
	req := fmt.Sprintf(`sum by ({{by}}) (rate(%s{{{sel}}}[{{rate}}]))`, s.Requests)
	bad := func(m string) string {
		return fmt.Sprintf(`sum by ({{by}}) (rate(%s{{{sel}},%s}[{{rate}}]))`, s.Requests, m)
	}
	out := map[string]string{
		"request_rate": req,
		"rate_5xx":     bad(s.Errors),
		// No failure series while requests flow is a measured zero (a counter never incremented has no series).
		"error_ratio": fmt.Sprintf(`(%s or 0 * %s) / %s`, bad(s.Errors), req, req),
	}
	if strings.Contains(s.Errors, "5..") {
		out["rate_4xx"] = bad(strings.Replace(s.Errors, "5..", "4..", 1))
	}
	if s.Latency != "" {
		for name, q := range map[string]string{"latency_p50": "0.5", "latency_p95": "0.95", "latency_p99": "0.99"} {
			out[name] = fmt.Sprintf(`%g * histogram_quantile(%s, sum by ({{by_le}}) (rate(%s{{{sel}}}[{{rate}}])))`, s.LatencyUnit, q, s.Latency)
		}
	}
	return out
}
