package config

import (
	"strconv"

	"github.com/fixloop/fixloop/internal/telemetry"
)

// Telemetry configures OpenTelemetry traces (off unless an endpoint is set).
type Telemetry struct {
	// Endpoint is an OTLP/HTTP collector URL (http://otel-collector:4318; /v1/traces is added when the
	// URL has no path).
	Endpoint string `json:"endpoint,omitempty"`
	// Headers are sent with each export, "k1=v1,k2=v2" (a SaaS API key: a secret, no flag).
	Headers string `json:"headers,omitempty"`
	// Sampling is the share of new traces kept, 0 to 1 (a caller's sampled traceparent is always kept).
	Sampling string `json:"sampling,omitempty"`
}

var telemetrySettings = []setting{
	{"otel-endpoint", []string{"FIXLOOP_OTEL_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"}, kString, "OTLP/HTTP endpoint for OpenTelemetry traces, e.g. http://otel-collector:4318 (empty: tracing off)", func(c *Config) any { return &c.Telemetry.Endpoint }},
	{"", []string{"FIXLOOP_OTEL_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"}, kString, "headers sent with each trace export, k1=v1,k2=v2 (e.g. an API key)", func(c *Config) any { return &c.Telemetry.Headers }},
	{"otel-sampling", []string{"FIXLOOP_OTEL_SAMPLING"}, kString, "share of new traces recorded, 0 to 1 (default 1); a caller's sampled traceparent is always followed", func(c *Config) any { return &c.Telemetry.Sampling }},
}

func init() { settings = append(settings, telemetrySettings...) }

// TraceSettings turns the validated telemetry settings into the exporter's.
func (c *Config) TraceSettings(version string) telemetry.Settings {
	s := telemetry.Settings{Endpoint: c.Telemetry.Endpoint, Sampling: 1, Version: version}
	if v, err := strconv.ParseFloat(c.Telemetry.Sampling, 64); err == nil {
		s.Sampling = v
	}
	s.Headers, _ = telemetry.ParseHeaders(c.Telemetry.Headers)
	return s
}

func (c *Config) validateTelemetry(bad func(setting, format string, args ...any)) {
	if c.Telemetry.Endpoint != "" {
		if _, err := telemetry.TracesURL(c.Telemetry.Endpoint); err != nil {
			bad("OTLP endpoint (--otel-endpoint / FIXLOOP_OTEL_ENDPOINT)", "%v", err)
		}
	}
	if c.Telemetry.Sampling != "" {
		if v, err := strconv.ParseFloat(c.Telemetry.Sampling, 64); err != nil || v < 0 || v > 1 {
			bad("trace sampling (--otel-sampling / FIXLOOP_OTEL_SAMPLING)", "%q is not a number from 0 to 1", c.Telemetry.Sampling)
		}
	}
	if _, err := telemetry.ParseHeaders(c.Telemetry.Headers); err != nil {
		bad("OTLP headers (FIXLOOP_OTEL_HEADERS)", "%v", err) // the error names the key only, never a value
	}
}
