// Package demoapp is the workload of the local test environment: a small web service that answers with a
// colour (the idea of argoproj's rollouts-demo) and misbehaves on demand through environment knobs, so a
// "bad canary" is one env var away from a good one.
package demoapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config holds the knobs; every field maps to one environment variable of the pod's container.
type Config struct {
	Color           string        // COLOR
	ErrorRate       float64       // ERROR_RATE: fraction of requests answered 500
	ClientErrorRate float64       // CLIENT_ERROR_RATE: fraction answered 4xx
	Latency         time.Duration // LATENCY_MS: added to every request
	PanicRate       float64       // PANIC_RATE: fraction of requests whose handler panics (recovered, 500)
	LeakMBPerMin    float64       // LEAK_MB_PER_MIN: memory retained per minute
	CrashAfter      time.Duration // CRASH_AFTER: the process exits with an error this long after start (a crash loop)
	BurstAfter      time.Duration // ERROR_BURST=after/for: every request fails with 500 for BurstFor,
	BurstFor        time.Duration // starting BurstAfter after start (a single short spike)
	LogFormat       string        // LOG_FORMAT: text or json
	NoHTTPMetrics   bool          // HTTP_METRICS=off: no request metrics of its own (like argoproj/rollouts-demo, measured by a mesh or ingress)
}

// ConfigFromEnv reads the knobs through getenv (os.Getenv in production) and rejects malformed values.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{Color: "blue", LogFormat: "text"}
	if v := getenv("COLOR"); v != "" {
		c.Color = v
	}
	if v := getenv("LOG_FORMAT"); v != "" {
		if v != "text" && v != "json" {
			return c, fmt.Errorf("LOG_FORMAT=%q: want text or json", v)
		}
		c.LogFormat = v
	}
	rates := []struct {
		name string
		dst  *float64
	}{{"ERROR_RATE", &c.ErrorRate}, {"CLIENT_ERROR_RATE", &c.ClientErrorRate}, {"PANIC_RATE", &c.PanicRate}}
	for _, r := range rates {
		v := getenv(r.name)
		if v == "" {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return c, fmt.Errorf("%s=%q: want a fraction between 0 and 1", r.name, v)
		}
		*r.dst = f
	}
	switch v := getenv("HTTP_METRICS"); v {
	case "", "on":
	case "off":
		c.NoHTTPMetrics = true
	default:
		return c, fmt.Errorf("HTTP_METRICS=%q: want on or off", v)
	}
	if v := getenv("LATENCY_MS"); v != "" {
		ms, err := strconv.ParseFloat(v, 64)
		if err != nil || ms < 0 {
			return c, fmt.Errorf("LATENCY_MS=%q: want a non-negative number of milliseconds", v)
		}
		c.Latency = time.Duration(ms * float64(time.Millisecond))
	}
	if v := getenv("LEAK_MB_PER_MIN"); v != "" {
		mb, err := strconv.ParseFloat(v, 64)
		if err != nil || mb < 0 {
			return c, fmt.Errorf("LEAK_MB_PER_MIN=%q: want a non-negative number", v)
		}
		c.LeakMBPerMin = mb
	}
	return c, parseSchedule(getenv, &c)
}

// parseSchedule reads the time-based knobs CRASH_AFTER and ERROR_BURST.
func parseSchedule(getenv func(string) string, c *Config) error {
	if v := getenv("CRASH_AFTER"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("CRASH_AFTER=%q: want a positive duration like 20s", v)
		}
		c.CrashAfter = d
	}
	if v := getenv("ERROR_BURST"); v != "" {
		after, dur, ok := strings.Cut(v, "/")
		a, err1 := time.ParseDuration(after)
		d, err2 := time.ParseDuration(dur)
		if !ok || err1 != nil || err2 != nil || a < 0 || d <= 0 {
			return fmt.Errorf("ERROR_BURST=%q: want after/for durations like 60s/5s", v)
		}
		c.BurstAfter, c.BurstFor = a, d
	}
	return nil
}

// App is one running instance: its handler, metrics and leaked memory.
type App struct {
	cfg      Config
	log      *slog.Logger
	panicOut io.Writer
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	mu       sync.Mutex
	leaked   [][]byte
	started  time.Time
}

// New builds an App whose logs go to out (stdout of the process, i.e. the pod's log).
func New(cfg Config, out io.Writer) *App {
	var h slog.Handler
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(out, nil)
	} else {
		h = slog.NewTextHandler(out, nil)
	}
	a := &App{cfg: cfg, log: slog.New(h), panicOut: out, reg: prometheus.NewRegistry(), started: time.Now()}
	a.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total", Help: "HTTP requests served, by status code and method.",
	}, []string{"code", "method"})
	a.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "http_request_duration_seconds", Help: "HTTP request latency.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"code", "method"})
	if !cfg.NoHTTPMetrics {
		a.reg.MustRegister(a.requests, a.duration)
	}
	// cAdvisor names, so PromQL written for a cluster works; the scrape target adds pod/namespace labels.
	a.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "container_cpu_usage_seconds_total", Help: "CPU time consumed by this container (process).",
	}, processCPUSeconds))
	a.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "container_memory_working_set_bytes", Help: "Resident memory of this container (process).",
	}, processRSSBytes))
	return a
}

// Handler serves / and /color (the colour), /healthz and /metrics.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.Handle("/metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/color", a.serveColor)
	mux.HandleFunc("/", a.serveColor)
	return mux
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (a *App) serveColor(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			// Same shape as net/http's own panic log, so log tooling sees a real Go panic.
			fmt.Fprintf(a.panicOut, "http: panic serving %s: %v\n%s", r.RemoteAddr, p, debug.Stack())
			http.Error(sw, "internal server error", http.StatusInternalServerError)
		}
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		elapsed := time.Since(start)
		code := strconv.Itoa(sw.code)
		a.requests.WithLabelValues(code, r.Method).Inc()
		a.duration.WithLabelValues(code, r.Method).Observe(elapsed.Seconds())
		level := slog.LevelInfo
		if sw.code >= 500 {
			level = slog.LevelError
		} else if sw.code >= 400 {
			level = slog.LevelWarn
		}
		a.log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path, "status", sw.code,
			"duration_ms", elapsed.Milliseconds(), "color", a.cfg.Color)
	}()

	// A little natural jitter so latency histograms are not a single spike.
	time.Sleep(a.cfg.Latency + time.Duration(rand.IntN(3000))*time.Microsecond)
	roll := rand.Float64()
	switch {
	case a.inBurst(time.Now()):
		a.log.Error("upstream timeout while loading colour", "err", "context deadline exceeded", "upstream", "palette-store")
		http.Error(sw, "internal server error", http.StatusInternalServerError)
	case roll < a.cfg.PanicRate:
		pickColor(nil, 0)
	case roll < a.cfg.PanicRate+a.cfg.ErrorRate:
		a.log.Error("failed to load colour from palette store", "err",
			"dial tcp 10.96.0.42:5432: connect: connection refused", "retries", 3)
		http.Error(sw, "internal server error", http.StatusInternalServerError)
	case roll < a.cfg.PanicRate+a.cfg.ErrorRate+a.cfg.ClientErrorRate:
		http.Error(sw, "bad request: unknown colour scheme", http.StatusBadRequest)
	default:
		sw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(sw).Encode(map[string]string{"color": a.cfg.Color})
	}
}

// inBurst reports whether now falls in the ERROR_BURST window.
func (a *App) inBurst(now time.Time) bool {
	if a.cfg.BurstFor <= 0 {
		return false
	}
	up := now.Sub(a.started)
	return up >= a.cfg.BurstAfter && up < a.cfg.BurstAfter+a.cfg.BurstFor
}

// pickColor indexes a palette; called with an empty one it panics like a real out-of-range bug.
func pickColor(palette []string, i int) string { return palette[i] }

// leak retains LeakMBPerMin megabytes per minute, in one-second slices touched so they count as RSS.
func (a *App) leak(ctx context.Context) {
	if a.cfg.LeakMBPerMin <= 0 {
		return
	}
	perSecond := int(a.cfg.LeakMBPerMin * 1024 * 1024 / 60)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b := make([]byte, perSecond)
			for i := range b {
				b[i] = byte(i)
			}
			a.mu.Lock()
			a.leaked = append(a.leaked, b)
			a.mu.Unlock()
		}
	}
}

// Run serves on listen until ctx ends.
func Run(ctx context.Context, listen string, cfg Config, out io.Writer) error {
	a := New(cfg, out)
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("demo app cannot listen on %s: %w", listen, err)
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go a.leak(ctx)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	a.log.Info("demo app listening", "addr", ln.Addr().String(), "color", cfg.Color)
	crashed := make(chan struct{})
	if cfg.CrashAfter > 0 {
		crash := time.AfterFunc(cfg.CrashAfter, func() {
			close(crashed)
			a.log.Error("fatal: palette cache corrupted, exiting", "uptime", cfg.CrashAfter.String())
			_ = srv.Close()
		})
		defer crash.Stop()
	}
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	select {
	case <-crashed:
		return fmt.Errorf("crashed after %s (CRASH_AFTER)", cfg.CrashAfter)
	default:
		return nil
	}
}

func processCPUSeconds() float64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	// Fields after the ")" that closes the command name; utime and stime are fields 14 and 15.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

// processRSSBytes is the anonymous resident memory: the demo runs as the big fixloop binary, whose
// shared code pages would otherwise dwarf what a small container's working set shows.
func processRSSBytes() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				return kb * 1024
			}
		}
	}
	return 0
}
