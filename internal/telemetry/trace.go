// Package telemetry is fixloop's observability: OpenTelemetry traces (an OTLP/HTTP exporter, off unless
// an endpoint is configured), trace IDs in log lines, HTTP client transports that open a child span per
// call to Kubernetes, Prometheus, GitHub or OpenCode, GenAI spans for LLM calls, and the Prometheus
// series of /metrics.
//
// Until Setup installs a provider the global OpenTelemetry provider is a no-op, so code instruments
// itself unconditionally and pays almost nothing when tracing is off.
package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Name is the instrumentation scope of fixloop's own spans.
const Name = "github.com/fixloop/fixloop"

// Settings configure the trace exporter (internal/config's otel-* rows).
type Settings struct {
	// Endpoint is the OTLP/HTTP traces URL; /v1/traces is added when it has no path. Empty: tracing off.
	Endpoint string
	// Headers are sent with every export (an API key of a tracing SaaS: a secret).
	Headers map[string]string
	// Sampling is the share of new traces recorded (0..1); a caller's sampled traceparent is honoured.
	Sampling float64
	Version  string
}

// Setup installs the global tracer provider and the W3C propagators. The returned function flushes
// and stops the exporter; with no endpoint it does nothing.
func Setup(ctx context.Context, s Settings) (shutdown func(context.Context) error, err error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	if s.Endpoint == "" {
		return func(context.Context) error { return nil }, nil
	}
	endpoint, err := TracesURL(s.Endpoint)
	if err != nil {
		return nil, err
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint), otlptracehttp.WithHeaders(s.Headers),
		otlptracehttp.WithTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter for %s: %w", endpoint, err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "fixloop"), attribute.String("service.version", s.Version))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(2*time.Second)),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(s.Sampling))),
		sdktrace.WithResource(res),
	)
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// TracesURL checks an OTLP/HTTP endpoint and adds the standard /v1/traces path when it has none.
func TracesURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("OTLP endpoint %q is not an http(s) URL like http://otel-collector:4318", raw)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return u.String(), nil
}

// ParseHeaders reads OTLP headers in the OTEL_EXPORTER_OTLP_HEADERS form "k1=v1,k2=v2" (values
// URL-encoded as that variable allows).
func ParseHeaders(s string) (map[string]string, error) {
	out := map[string]string{}
	for i, kv := range strings.Split(s, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			// Named by position only: the text may be a credential.
			return nil, fmt.Errorf("header %d of the list is not key=value", i+1)
		}
		if dv, err := url.QueryUnescape(strings.TrimSpace(v)); err == nil {
			v = dv
		}
		out[k] = v
	}
	return out, nil
}

// Tracer is fixloop's tracer from the global provider (a no-op until Setup installs one).
func Tracer() trace.Tracer { return otel.Tracer(Name) }

// Start opens an internal span named name under ctx's span.
func Start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return Tracer().Start(ctx, name, trace.WithAttributes(attrs...))
}

// End records err on the span (when not nil) and ends it.
func End(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// Transport wraps base (nil: http.DefaultTransport) so each request is a client span named after the
// peer ("kubernetes GET"), a child of the request context's span, carrying the W3C traceparent.
func Transport(base http.RoundTripper, peer string) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return otelhttp.NewTransport(base,
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return peer + " " + r.Method }),
		otelhttp.WithSpanOptions(trace.WithAttributes(attribute.String("peer.service", peer))),
	)
}

// Handler wraps an HTTP server handler so each request is a server span (continuing the caller's
// traceparent) named by route(r), e.g. "POST /argo/v1/verdict".
func Handler(h http.Handler, route func(*http.Request) string) http.Handler {
	return otelhttp.NewHandler(h, "fixloop",
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + route(r) }))
}
