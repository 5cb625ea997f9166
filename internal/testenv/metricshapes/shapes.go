// Package metricshapes publishes synthetic HTTP request metrics in the exact series and label shapes of
// the sources internal/prom knows (app client libraries, meshes, ingresses), so tests can check that
// discovery finds each of them on a real Prometheus. Counters grow from the handler's start at the
// configured rate; every request takes the configured latency.
package metricshapes

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Target is what the published series describe: the backend pod or Service of one side.
type Target struct {
	Namespace, Pod, Service, Ingress string
}

// Traffic is the load one side serves.
type Traffic struct {
	RPS        float64
	ErrorShare float64 // share of requests answered 5xx
	Latency    time.Duration
}

type shape struct {
	counter  string // separate request counter; "" when the histogram's _count counts requests
	hist     string // histogram name without _bucket
	ms       bool   // histogram in milliseconds
	status   func(failed bool) string
	labels   func(t Target) string
	histCode bool // the histogram carries the status labels too
}

func code(name, ok, bad string) func(bool) string {
	return func(failed bool) string {
		if failed {
			return fmt.Sprintf(`%s=%q`, name, bad)
		}
		return fmt.Sprintf(`%s=%q`, name, ok)
	}
}

func istioLabels(reporter string) func(Target) string {
	return func(t Target) string {
		return fmt.Sprintf(`reporter=%q,source_workload="istio-ingressgateway",source_workload_namespace="istio-system",destination_workload=%q,destination_workload_namespace=%q,destination_service="%s.%s.svc.cluster.local",destination_service_name=%q,destination_service_namespace=%q,request_protocol="http",connection_security_policy="mutual_tls"`,
			reporter, t.Service, t.Namespace, t.Service, t.Namespace, t.Service, t.Namespace)
	}
}

var shapes = map[string]shape{
	"prometheus-go": {counter: "http_requests_total", hist: "http_request_duration_seconds", status: code("code", "200", "500"), histCode: true,
		labels: func(Target) string { return `method="get"` }},
	"prometheus-fastapi": {counter: "http_requests_total", hist: "http_request_duration_seconds", status: code("status", "2xx", "5xx"),
		labels: func(Target) string { return `handler="/api/items",method="GET"` }},
	"prometheus-flask": {counter: "flask_http_request_total", hist: "flask_http_request_duration_seconds", status: code("status", "200", "500"), histCode: true,
		labels: func(Target) string { return `method="GET"` }},
	"express-prom-bundle": {hist: "http_request_duration_seconds", status: code("status_code", "200", "500"), histCode: true,
		labels: func(Target) string { return `method="GET",path="/api/items"` }},
	"micrometer": {hist: "http_server_requests_seconds", histCode: true,
		status: func(failed bool) string {
			if failed {
				return `exception="IllegalStateException",outcome="SERVER_ERROR",status="500"`
			}
			return `exception="None",outcome="SUCCESS",status="200"`
		},
		labels: func(Target) string { return `method="GET",uri="/api/items"` }},
	"opentelemetry": {hist: "http_server_request_duration_seconds", status: code("http_response_status_code", "200", "500"), histCode: true,
		labels: func(Target) string {
			return `http_request_method="GET",http_route="/api/items",url_scheme="http",otel_scope_name="go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"`
		}},
	"opentelemetry-legacy": {hist: "http_server_duration_milliseconds", ms: true, status: code("http_status_code", "200", "500"), histCode: true,
		labels: func(Target) string { return `http_method="GET",http_scheme="http",net_protocol_name="http"` }},
	"istio": {counter: "istio_requests_total", hist: "istio_request_duration_milliseconds", ms: true, status: code("response_code", "200", "503"),
		histCode: true, labels: istioLabels("destination")},
	"istio-service": {counter: "istio_requests_total", hist: "istio_request_duration_milliseconds", ms: true, status: code("response_code", "200", "503"),
		histCode: true, labels: istioLabels("source")},
	"linkerd": {counter: "response_total", hist: "response_latency_ms", ms: true, histCode: true,
		status: func(failed bool) string {
			if failed {
				return `classification="failure",status_code="503"`
			}
			return `classification="success",status_code="200"`
		},
		labels: func(t Target) string {
			return fmt.Sprintf(`direction="inbound",deployment=%q,tls="true",srv_kind="default",srv_name="all-unauthenticated"`, t.Service)
		}},
	"ingress-nginx": {counter: "nginx_ingress_controller_requests", hist: "nginx_ingress_controller_request_duration_seconds", status: code("status", "200", "502"),
		histCode: true, labels: func(t Target) string {
			canary := ""
			if strings.HasSuffix(t.Ingress, "-canary") {
				canary = fmt.Sprintf("%s-%s-80", t.Namespace, t.Service)
			}
			return fmt.Sprintf(`controller_class="k8s.io/ingress-nginx",controller_namespace="ingress-nginx",controller_pod="ingress-nginx-controller-5c8d66c76d-x2x7k",host="app.example.com",ingress=%q,method="GET",namespace=%q,path="/",service=%q,canary=%q`,
				t.Ingress, t.Namespace, t.Service, canary)
		}},
	"traefik": {counter: "traefik_service_requests_total", hist: "traefik_service_request_duration_seconds", status: code("code", "200", "500"), histCode: true,
		labels: func(t Target) string {
			return fmt.Sprintf(`method="GET",protocol="http",service="%s-%s-80@kubernetes"`, t.Namespace, t.Service)
		}},
	"envoy": {counter: "envoy_cluster_upstream_rq", hist: "envoy_cluster_upstream_rq_time", ms: true, status: code("envoy_response_code", "200", "503"),
		labels: func(t Target) string { return fmt.Sprintf(`envoy_cluster_name="%s_%s_80"`, t.Namespace, t.Service) }},
}

// Names lists the shapes this package publishes.
func Names() []string {
	out := make([]string, 0, len(shapes))
	for n := range shapes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

var bucketsSeconds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Write prints the exposition of a shape after ok successful and failed 5xx requests of latency each.
func Write(w io.Writer, name string, t Target, ok, failed float64, latency time.Duration) error {
	s, found := shapes[name]
	if !found {
		return fmt.Errorf("no metric shape %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	fixed := s.labels(t)
	counts := []struct {
		n      float64
		failed bool
	}{{ok, false}, {failed, true}}
	if s.counter != "" {
		fmt.Fprintf(w, "# TYPE %s counter\n", s.counter)
		for _, c := range counts {
			fmt.Fprintf(w, "%s{%s,%s} %g\n", s.counter, fixed, s.status(c.failed), c.n)
		}
	}
	lat, scale := latency.Seconds(), 1.0
	if s.ms {
		scale = 1000
	}
	fmt.Fprintf(w, "# TYPE %s histogram\n", s.hist)
	if !s.histCode { // one histogram over all requests
		counts = []struct {
			n      float64
			failed bool
		}{{ok + failed, false}}
	}
	for _, c := range counts {
		ls := fixed
		if s.histCode {
			ls += "," + s.status(c.failed)
		}
		for _, le := range bucketsSeconds {
			n := 0.0
			if lat <= le {
				n = c.n
			}
			fmt.Fprintf(w, "%s_bucket{%s,le=\"%g\"} %g\n", s.hist, ls, le*scale, n)
		}
		fmt.Fprintf(w, "%s_bucket{%s,le=\"+Inf\"} %g\n", s.hist, ls, c.n)
		fmt.Fprintf(w, "%s_sum{%s} %g\n%s_count{%s} %g\n", s.hist, ls, c.n*lat*scale, s.hist, ls, c.n)
	}
	return nil
}

// Handler serves a shape's /metrics with counters growing at tr's rate since the handler was made.
// SetTraffic changes the rate from now on (counters never go down).
type Handler struct {
	name    string
	target  Target
	mu      sync.Mutex
	tr      Traffic
	since   time.Time
	ok, bad float64
}

// NewHandler checks the shape name and starts counting.
func NewHandler(name string, t Target, tr Traffic) (*Handler, error) {
	if _, ok := shapes[name]; !ok {
		return nil, fmt.Errorf("no metric shape %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return &Handler{name: name, target: t, tr: tr, since: time.Now()}, nil
}

func (h *Handler) advance() {
	now := time.Now()
	n := h.tr.RPS * now.Sub(h.since).Seconds()
	h.ok += n * (1 - h.tr.ErrorShare)
	h.bad += n * h.tr.ErrorShare
	h.since = now
}

// SetTraffic changes the load from now on.
func (h *Handler) SetTraffic(tr Traffic) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.advance()
	h.tr = tr
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	h.mu.Lock()
	h.advance()
	ok, bad, lat := h.ok, h.bad, h.tr.Latency
	h.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_ = Write(w, h.name, h.target, ok, bad, lat)
}
