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

// Source is one documented shape of HTTP request metrics. Requests is a counter of requests; Status the
// label holding the response status (failed ones match Errors: its 5xx, or the source's failure class);
// Histogram the latency histogram's name (series Histogram_bucket) in LatencyUnit seconds (0.001 for ms).
type Source struct {
	Name        string
	Kind        Kind
	Requests    string
	Status      string
	Fixed       string // matchers every query of the source needs (e.g. the inbound direction)
	Errors      string // derived from Status (Status=~"5..") unless the row sets a failure class
	Histogram   string
	LatencyUnit float64
	SideBy      SideBy
	// ServiceLabels are the labels naming the backend Service: %[1]s is the namespace, %[2]s a regex
	// group of the Service names (both regex-quoted), %[3]s the label holding the namespace (the
	// exporter's namespace label is renamed exported_namespace when the scrape sets namespace to the
	// proxy's own, and kept when it honours labels).
	ServiceMatch    string
	NamespaceLabels []string
	// IngressLabel names the Ingress the request came through (ingress-nginx): with Argo's nginx traffic
	// routing the canary's requests go through a canary Ingress of its own.
	IngressLabel string
	Doc          string
}

// Latency is the histogram's bucket series.
func (s Source) Latency() string { return s.Histogram + "_bucket" }

// app, mesh and ingress build rows: the 5xx matcher, the latency unit and the side selection follow
// from the kind and the status label, so a row only states what its project documents.
func app(name, requests, status, histogram, doc string) Source {
	return Source{Name: name, Kind: KindApp, Requests: requests, Status: status, Errors: status + `=~"5.."`,
		Histogram: histogram, LatencyUnit: unitOf(histogram), SideBy: ByPod, Doc: doc}
}

func mesh(name, requests, fixed, status, errors, histogram, doc string) Source {
	return Source{Name: name, Kind: KindMesh, Requests: requests, Fixed: fixed, Status: status, Errors: errors,
		Histogram: histogram, LatencyUnit: unitOf(histogram), SideBy: ByPod, Doc: doc}
}

func ingress(name, requests, status, histogram, serviceMatch, doc string) Source {
	return Source{Name: name, Kind: KindIngress, Requests: requests, Status: status, Errors: status + `=~"5.."`,
		Histogram: histogram, LatencyUnit: unitOf(histogram), SideBy: ByService, ServiceMatch: serviceMatch, Doc: doc}
}

// byService turns a pod-scraped row into one selecting a proxy's series by destination Service.
func (s Source) byService(name, fixed, serviceMatch, doc string) Source {
	s.Name, s.Fixed, s.SideBy, s.ServiceMatch, s.Doc = name, fixed, ByService, serviceMatch, doc
	return s
}

// unitOf reads a histogram's unit from its name (Prometheus naming: _seconds, _milliseconds, _ms; Envoy's
// _time histograms are documented in milliseconds).
func unitOf(histogram string) float64 {
	if strings.HasSuffix(histogram, "_milliseconds") || strings.HasSuffix(histogram, "_ms") || strings.HasSuffix(histogram, "_time") {
		return 0.001
	}
	return 1
}

var istio = mesh("istio", "istio_requests_total", `reporter="destination"`, "response_code", `response_code=~"5.."`,
	"istio_request_duration_milliseconds", "Istio standard metrics, scraped from each pod's sidecar (reporter=destination)")

// Sources is the table of known HTTP metric shapes, best first within a kind. Series and labels follow
// each project's documentation (Doc).
var Sources = []Source{
	app("prometheus-go", "http_requests_total", "code", "http_request_duration_seconds",
		"client_golang promhttp.InstrumentHandlerCounter / Duration (label code)"),
	app("prometheus-fastapi", "http_requests_total", "status", "http_request_duration_seconds",
		"prometheus-fastapi-instrumentator (label status, grouped as 5xx)"),
	app("prometheus-flask", "flask_http_request_total", "status", "flask_http_request_duration_seconds",
		"prometheus-flask-exporter (label status)"),
	app("express-prom-bundle", "http_request_duration_seconds_count", "status_code", "http_request_duration_seconds",
		"Node express-prom-bundle on prom-client (label status_code)"),
	app("micrometer", "http_server_requests_seconds_count", "status", "http_server_requests_seconds",
		"Spring Boot Actuator / Micrometer http.server.requests (labels status, uri, outcome)"),
	app("opentelemetry", "http_server_request_duration_seconds_count", "http_response_status_code", "http_server_request_duration_seconds",
		"OpenTelemetry HTTP semantic conventions (stable) http.server.request.duration via the Prometheus exporter"),
	app("opentelemetry-legacy", "http_server_duration_milliseconds_count", "http_status_code", "http_server_duration_milliseconds",
		"OpenTelemetry HTTP semantic conventions before 1.20 (http.server.duration in ms, http_status_code)"),
	istio,
	mesh("linkerd", "response_total", `direction="inbound"`, "classification", `classification="failure"`, "response_latency_ms",
		"Linkerd proxy metrics on :4191, inbound responses classified success/failure"),
	istio.byService("istio-service", `reporter="source"`, `destination_service_namespace="%[1]s",destination_service_name=~"^%[2]s$"`,
		"Istio standard metrics reported by the caller (gateway), per destination Service"),
	func() Source {
		s := ingress("ingress-nginx", "nginx_ingress_controller_requests", "status", "nginx_ingress_controller_request_duration_seconds",
			`%[3]s="%[1]s",service=~"^%[2]s$"`, "ingress-nginx controller metrics (labels ingress, namespace, service, status, canary)")
		s.NamespaceLabels, s.IngressLabel = []string{"exported_namespace", "namespace"}, "ingress"
		return s
	}(),
	ingress("traefik", "traefik_service_requests_total", "code", "traefik_service_request_duration_seconds",
		`service=~"%[1]s-%[2]s-[^@]+@kubernetes.*"`, "Traefik service metrics (service <ns>-<svc>-<port>@kubernetes[crd|gateway], label code)"),
	ingress("envoy", "envoy_cluster_upstream_rq", "envoy_response_code", "envoy_cluster_upstream_rq_time",
		`envoy_cluster_name=~"%[1]s_%[2]s_[0-9]+"`, "Envoy cluster stats as Contour / Gateway API proxies publish them (cluster <ns>_<svc>_<port>)"),
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

// Side is one group of pods to measure: its namespace, pod names (or, without a cluster to list them, a
// name pattern) and the Services (and ingress-nginx Ingresses) that route to it alone.
type Side struct {
	Namespace  string   `json:"namespace"`
	Pods       []string `json:"pods,omitempty"`
	PodPattern string   `json:"podPattern,omitempty" jsonschema:"regex of pod names when they could not be listed"`
	Services   []string `json:"services,omitempty"`
	Ingresses  []string `json:"ingresses,omitempty"`
}

var promNameUnsafe = regexp.MustCompile(`[^a-zA-Z0-9._-]`)

// quoteLabelRegex quotes a Kubernetes name for a PromQL regex inside a double-quoted string.
func quoteLabelRegex(s string) string {
	return strings.ReplaceAll(regexp.QuoteMeta(promNameUnsafe.ReplaceAllString(s, "")), `\`, `\\`)
}

// regexGroup is a PromQL regex group matching exactly one of the names.
func regexGroup(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quoteLabelRegex(n)
	}
	return "(" + strings.Join(q, "|") + ")"
}

// PodMatchers selects the series scraped from the side's pods (cAdvisor, kube-state-metrics, the app
// and its sidecars all carry the scrape's namespace and pod labels).
func (side Side) PodMatchers() (string, error) {
	ns := fmt.Sprintf(`namespace=%q`, side.Namespace)
	switch {
	case len(side.Pods) > 0:
		return fmt.Sprintf(`%s,pod=~"^%s$"`, ns, regexGroup(side.Pods)), nil
	case side.PodPattern != "":
		return fmt.Sprintf(`%s,pod=~%q`, ns, side.PodPattern), nil
	}
	return "", fmt.Errorf("no pods")
}

// Selector gives the label matchers selecting the side's series of this source, or why it cannot.
// nsLabel is the namespace label discovery found (see NamespaceLabels); "" takes the first.
func (s Source) Selector(side Side, nsLabel string) (string, error) {
	if nsLabel == "" && len(s.NamespaceLabels) > 0 {
		nsLabel = s.NamespaceLabels[0]
	}
	var m string
	switch s.SideBy {
	case ByPod:
		var err error
		if m, err = side.PodMatchers(); err != nil {
			return "", err
		}
	case ByService:
		if len(side.Services) == 0 {
			return "", fmt.Errorf("no Service routes to these pods alone")
		}
		m = fmt.Sprintf(s.ServiceMatch, quoteLabelRegex(side.Namespace), regexGroup(side.Services), nsLabel)
		if s.IngressLabel != "" && len(side.Ingresses) > 0 {
			m += fmt.Sprintf(`,%s=~"^%s$"`, s.IngressLabel, regexGroup(side.Ingresses))
		}
	}
	if s.Fixed != "" {
		m += "," + s.Fixed
	}
	return m, nil
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
		"requests":    fmt.Sprintf(`sum(increase(%s{{{sel}}}[{{window}}]))`, s.Requests),
	}
	if strings.Contains(s.Errors, "5..") {
		out["rate_4xx"] = bad(strings.Replace(s.Errors, "5..", "4..", 1))
	}
	if s.Histogram != "" {
		for name, q := range map[string]string{"latency_p50": "0.5", "latency_p95": "0.95", "latency_p99": "0.99"} {
			out[name] = fmt.Sprintf(`%g * histogram_quantile(%s, sum by ({{by_le}}) (rate(%s{{{sel}}}[{{rate}}])))`, s.LatencyUnit, q, s.Latency())
		}
	}
	return out
}
