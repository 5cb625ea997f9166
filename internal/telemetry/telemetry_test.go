package telemetry

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// A record logged with a traced context carries its trace and span IDs; one without does not.
func TestLogLinesCarryTraceIDs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "op")
	log.InfoContext(ctx, "inside")
	span.End()
	log.Info("outside")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines: %q", lines)
	}
	want := `"trace_id":"` + span.SpanContext().TraceID().String() + `","span_id":"` + span.SpanContext().SpanID().String() + `"`
	if !strings.Contains(lines[0], want) || !strings.Contains(lines[0], `"component":"test"`) {
		t.Errorf("traced line %s lacks %s", lines[0], want)
	}
	if strings.Contains(lines[1], "trace_id") {
		t.Errorf("untraced line has a trace ID: %s", lines[1])
	}
}

func TestTracesURLAndHeaders(t *testing.T) {
	for in, want := range map[string]string{
		"http://collector:4318":             "http://collector:4318/v1/traces",
		"https://otlp.example.com/":         "https://otlp.example.com/v1/traces",
		"http://collector:4318/custom/path": "http://collector:4318/custom/path",
	} {
		if got, err := TracesURL(in); err != nil || got != want {
			t.Errorf("TracesURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"collector:4318", "ftp://x", "http://"} {
		if _, err := TracesURL(bad); err == nil {
			t.Errorf("TracesURL(%q) accepted", bad)
		}
	}
	h, err := ParseHeaders("api-key=s3cr%3Dt, x-team = obs")
	if err != nil || h["api-key"] != "s3cr=t" || h["x-team"] != "obs" {
		t.Errorf("ParseHeaders = %v, %v", h, err)
	}
	_, err = ParseHeaders("Bearer sk-live-123")
	if err == nil || strings.Contains(err.Error(), "sk-live") {
		t.Errorf("a malformed header must be refused without echoing it: %v", err)
	}
}
