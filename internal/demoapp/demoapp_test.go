package demoapp

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigFromEnv(t *testing.T) {
	c, err := ConfigFromEnv(env(map[string]string{"COLOR": "green", "ERROR_RATE": "0.25", "LATENCY_MS": "40", "LOG_FORMAT": "json"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Color != "green" || c.ErrorRate != 0.25 || c.Latency.Milliseconds() != 40 || c.LogFormat != "json" {
		t.Fatalf("parsed %+v", c)
	}
	for _, bad := range []map[string]string{
		{"ERROR_RATE": "1.5"}, {"PANIC_RATE": "x"}, {"LATENCY_MS": "-1"}, {"LOG_FORMAT": "xml"}, {"LEAK_MB_PER_MIN": "lots"},
	} {
		if _, err := ConfigFromEnv(env(bad)); err == nil {
			t.Errorf("%v: want an error", bad)
		}
	}
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

func TestHealthyServesColourAndMetrics(t *testing.T) {
	var out syncBuffer
	h := New(Config{Color: "blue", LogFormat: "json"}, &out).Handler()
	code, body := get(t, h, "/color")
	var got map[string]string
	if code != 200 || json.Unmarshal([]byte(body), &got) != nil || got["color"] != "blue" {
		t.Fatalf("GET /color = %d %q", code, body)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(out.String())), &line); err != nil || line["msg"] != "request" || line["status"] != float64(200) {
		t.Fatalf("access log line %q: %v", out.String(), err)
	}
	_, metrics := get(t, h, "/metrics")
	for _, want := range []string{
		`http_requests_total{code="200",method="GET"} 1`,
		`http_request_duration_seconds_bucket{code="200",method="GET",le="+Inf"} 1`,
		"container_cpu_usage_seconds_total ", "container_memory_working_set_bytes ",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestPanicIsRecoveredLoggedAndCounted(t *testing.T) {
	var out syncBuffer
	h := New(Config{Color: "red", PanicRate: 1, LogFormat: "text"}, &out).Handler()
	code, _ := get(t, h, "/")
	if code != http.StatusInternalServerError {
		t.Fatalf("panicking handler answered %d, want 500", code)
	}
	log := out.String()
	for _, want := range []string{"http: panic serving", "index out of range", "goroutine ", "[running]:", "level=ERROR msg=request"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	_, metrics := get(t, h, "/metrics")
	if !strings.Contains(metrics, `http_requests_total{code="500",method="GET"} 1`) {
		t.Errorf("panic not counted as a 500:\n%s", metrics)
	}
}

func TestErrorRatesShapeStatusCodes(t *testing.T) {
	var out syncBuffer
	h := New(Config{ErrorRate: 0.5, ClientErrorRate: 0.5}, &out).Handler()
	seen := map[int]int{}
	for range 200 {
		code, _ := get(t, h, "/color")
		seen[code]++
	}
	if seen[200] != 0 || seen[500] < 60 || seen[400] < 60 {
		t.Fatalf("status codes %v: want only 500s and 400s, roughly half each", seen)
	}
	if !strings.Contains(out.String(), "connection refused") {
		t.Error("5xx responses should log the failing dependency")
	}
}

func TestScheduleKnobs(t *testing.T) {
	env := map[string]string{"CRASH_AFTER": "20s", "ERROR_BURST": "60s/5s"}
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil || c.CrashAfter != 20*time.Second || c.BurstAfter != time.Minute || c.BurstFor != 5*time.Second {
		t.Fatalf("config %+v, err %v", c, err)
	}
	a := New(c, io.Discard)
	if a.inBurst(a.started.Add(59*time.Second)) || !a.inBurst(a.started.Add(62*time.Second)) || a.inBurst(a.started.Add(66*time.Second)) {
		t.Fatal("burst window wrong")
	}
	for _, bad := range []map[string]string{{"CRASH_AFTER": "soon"}, {"ERROR_BURST": "60s"}, {"ERROR_BURST": "1m/-1s"}} {
		if _, err := ConfigFromEnv(func(k string) string { return bad[k] }); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestCrashAfterExitsWithAnError(t *testing.T) {
	err := Run(context.Background(), "127.0.0.1:0", Config{Color: "blue", LogFormat: "text", CrashAfter: 200 * time.Millisecond}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "CRASH_AFTER") {
		t.Fatalf("Run = %v, want a crash error", err)
	}
}
