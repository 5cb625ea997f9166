// Package metricshapes publishes HTTP request metrics in the exact series and label shapes of the
// sources internal/prom knows (app client libraries, meshes, ingresses), as each project documents them.
// The test environment's traffic generator records the responses it really got (Recorder); tests of
// discovery alone use a synthetic load (Handler). The shapes are data, written independently of
// internal/prom's table, so a test finds out when the two disagree.
package metricshapes

import (
	"fmt"
	"sort"
	"strings"
)

// Target is what the published series describe: the backend pod or Service of one side.
type Target struct {
	Namespace, Pod, Service, Ingress string
}

// Shape is one project's request metrics. Labels and Status are label lists with placeholders: {ns},
// {svc}, {pod}, {ingress}, {upstream} (ingress-nginx's canary upstream <ns>-<svc>-80 on a canary
// Ingress, else empty) in Labels; {code}, {class} (the first digit), {outcome} (Micrometer's
// SUCCESS / CLIENT_ERROR / SERVER_ERROR), {classification} (Linkerd's success / failure) and
// {exception} in Status.
type Shape struct {
	Counter   string // request counter; "" when the histogram's _count counts requests
	Histogram string // histogram name without _bucket
	Millis    bool   // histogram in milliseconds
	Labels    string
	Status    string
	HistCode  bool // the histogram carries the status labels too
	// Proxy is the namespace of the proxy that publishes the series in front of the Services (the
	// scrape labels its pod, not the backend's); "" when each backend pod (app or sidecar) is scraped.
	Proxy string
}

const istioLabels = `source_workload="istio-ingressgateway",source_workload_namespace="istio-system",destination_workload="{svc}",destination_workload_namespace="{ns}",destination_service="{svc}.{ns}.svc.cluster.local",destination_service_name="{svc}",destination_service_namespace="{ns}",request_protocol="http",connection_security_policy="mutual_tls"`

// Shapes are the documented shapes by source name (internal/prom's row names).
var Shapes = map[string]Shape{
	"prometheus-go": {Counter: "http_requests_total", Histogram: "http_request_duration_seconds", HistCode: true,
		Labels: `method="get"`, Status: `code="{code}"`},
	"prometheus-fastapi": {Counter: "http_requests_total", Histogram: "http_request_duration_seconds",
		Labels: `handler="/api/items",method="GET"`, Status: `status="{class}xx"`},
	"prometheus-flask": {Counter: "flask_http_request_total", Histogram: "flask_http_request_duration_seconds", HistCode: true,
		Labels: `method="GET"`, Status: `status="{code}"`},
	"express-prom-bundle": {Histogram: "http_request_duration_seconds", HistCode: true,
		Labels: `method="GET",path="/api/items"`, Status: `status_code="{code}"`},
	"micrometer": {Histogram: "http_server_requests_seconds", HistCode: true,
		Labels: `method="GET",uri="/api/items"`, Status: `exception="{exception}",outcome="{outcome}",status="{code}"`},
	"opentelemetry": {Histogram: "http_server_request_duration_seconds", HistCode: true,
		Labels: `http_request_method="GET",http_route="/api/items",url_scheme="http",otel_scope_name="go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"`,
		Status: `http_response_status_code="{code}"`},
	"opentelemetry-legacy": {Histogram: "http_server_duration_milliseconds", Millis: true, HistCode: true,
		Labels: `http_method="GET",http_scheme="http",net_protocol_name="http"`, Status: `http_status_code="{code}"`},
	"istio": {Counter: "istio_requests_total", Histogram: "istio_request_duration_milliseconds", Millis: true, HistCode: true,
		Labels: `reporter="destination",` + istioLabels, Status: `response_code="{code}"`},
	"istio-service": {Counter: "istio_requests_total", Histogram: "istio_request_duration_milliseconds", Millis: true, HistCode: true,
		Labels: `reporter="source",` + istioLabels, Status: `response_code="{code}"`, Proxy: "istio-system"},
	"linkerd": {Counter: "response_total", Histogram: "response_latency_ms", Millis: true, HistCode: true,
		Labels: `direction="inbound",deployment="{svc}",tls="true",srv_kind="default",srv_name="all-unauthenticated"`,
		Status: `classification="{classification}",status_code="{code}"`},
	"ingress-nginx": {Counter: "nginx_ingress_controller_requests", Histogram: "nginx_ingress_controller_request_duration_seconds", HistCode: true,
		Labels: `controller_class="k8s.io/ingress-nginx",controller_namespace="ingress-nginx",controller_pod="ingress-nginx-controller-5c8d66c76d-x2x7k",host="app.example.com",ingress="{ingress}",method="GET",namespace="{ns}",path="/",service="{svc}",canary="{upstream}"`,
		Status: `status="{code}"`, Proxy: "ingress-nginx"},
	"traefik": {Counter: "traefik_service_requests_total", Histogram: "traefik_service_request_duration_seconds", HistCode: true,
		Labels: `method="GET",protocol="http",service="{ns}-{svc}-80@kubernetes"`, Status: `code="{code}"`, Proxy: "traefik"},
	"envoy": {Counter: "envoy_cluster_upstream_rq", Histogram: "envoy_cluster_upstream_rq_time", Millis: true,
		Labels: `envoy_cluster_name="{ns}_{svc}_80"`, Status: `envoy_response_code="{code}"`, Proxy: "projectcontour"},
}

// Names lists the shapes this package publishes.
func Names() []string {
	out := make([]string, 0, len(Shapes))
	for n := range Shapes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup finds a shape, or says which exist.
func Lookup(name string) (Shape, error) {
	s, ok := Shapes[name]
	if !ok {
		return s, fmt.Errorf("no metric shape %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return s, nil
}

func (s Shape) labels(t Target) string {
	upstream := ""
	if strings.HasSuffix(t.Ingress, "-canary") {
		upstream = fmt.Sprintf("%s-%s-80", t.Namespace, t.Service)
	}
	return strings.NewReplacer("{ns}", t.Namespace, "{svc}", t.Service, "{pod}", t.Pod, "{ingress}", t.Ingress, "{upstream}", upstream).Replace(s.Labels)
}

func (s Shape) status(code int) string {
	class := code / 100
	outcome, classification, exception := "SUCCESS", "success", "None"
	switch {
	case class == 4:
		outcome = "CLIENT_ERROR"
	case class >= 5:
		outcome, classification, exception = "SERVER_ERROR", "failure", "IllegalStateException"
	}
	return strings.NewReplacer("{code}", fmt.Sprint(code), "{class}", fmt.Sprint(class), "{outcome}", outcome,
		"{classification}", classification, "{exception}", exception).Replace(s.Status)
}

// groupCode is the code a shape's series keep apart: a shape labelling by class (2xx, 5xx) merges codes.
func (s Shape) groupCode(code int) int {
	if strings.Contains(s.Status, "{class}xx") {
		return code / 100 * 100
	}
	return code
}
