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

var bucketsSeconds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type seriesKey struct {
	shape  string
	target Target
	code   int
}

type counts struct {
	n, sum  float64
	buckets []float64 // cumulative, per bucketsSeconds
}

// Recorder counts responses per scrape endpoint: a backend pod (its app or sidecar) or a proxy in front
// of the Services (Shape.Proxy), and serves each endpoint's exposition at /shapes/<endpoint>.
type Recorder struct {
	mu     sync.Mutex
	series map[string]map[seriesKey]*counts
}

// NewRecorder starts with no series.
func NewRecorder() *Recorder { return &Recorder{series: map[string]map[seriesKey]*counts{}} }

// Endpoint names where a shape's series of a target are scraped: pod/<ns>/<pod> or proxy/<shape>.
func Endpoint(shape string, t Target) (string, error) {
	s, err := Lookup(shape)
	if err != nil {
		return "", err
	}
	if s.Proxy != "" {
		return "proxy/" + shape, nil
	}
	return "pod/" + t.Namespace + "/" + t.Pod, nil
}

// ProxyNamespace is the namespace of a proxy endpoint's pod ("" for a pod endpoint).
func ProxyNamespace(endpoint string) string {
	if name, ok := strings.CutPrefix(endpoint, "proxy/"); ok {
		return Shapes[name].Proxy
	}
	return ""
}

// Observe records n responses with the status code and latency.
func (r *Recorder) Observe(shape string, t Target, code int, latency time.Duration, n float64) error {
	s, err := Lookup(shape)
	if err != nil {
		return err
	}
	ep, _ := Endpoint(shape, t)
	k := seriesKey{shape: shape, target: t, code: s.groupCode(code)}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.series[ep] == nil {
		r.series[ep] = map[seriesKey]*counts{}
	}
	c := r.series[ep][k]
	if c == nil {
		c = &counts{buckets: make([]float64, len(bucketsSeconds))}
		r.series[ep][k] = c
	}
	c.n += n
	c.sum += n * latency.Seconds()
	for i, le := range bucketsSeconds {
		if latency.Seconds() <= le {
			c.buckets[i] += n
		}
	}
	return nil
}

// ForgetPod drops the series of a pod that is gone (its scrape target goes with it).
func (r *Recorder) ForgetPod(ns, pod string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.series, "pod/"+ns+"/"+pod)
}

// Has says whether an endpoint has series.
func (r *Recorder) Has(endpoint string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.series[endpoint] != nil
}

// Endpoints lists the endpoints with series.
func (r *Recorder) Endpoints() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.series))
	for ep := range r.series {
		out = append(out, ep)
	}
	sort.Strings(out)
	return out
}

// ServeHTTP serves /shapes/<endpoint> (any prefix before the endpoint name is ignored).
func (r *Recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	ep := req.URL.Path
	if i := strings.Index(ep, "/pod/"); i >= 0 {
		ep = ep[i+1:]
	} else if i := strings.Index(ep, "/proxy/"); i >= 0 {
		ep = ep[i+1:]
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	r.Write(w, ep)
}

// Write prints an endpoint's exposition: each shape's counter and histogram families, one TYPE line each.
func (r *Recorder) Write(w io.Writer, endpoint string) {
	r.mu.Lock()
	keys := make([]seriesKey, 0, len(r.series[endpoint]))
	snap := map[seriesKey]counts{}
	for k, c := range r.series[endpoint] {
		keys = append(keys, k)
		snap[k] = counts{n: c.n, sum: c.sum, buckets: append([]float64(nil), c.buckets...)}
	}
	r.mu.Unlock()
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	typed := map[string]bool{}
	typeLine := func(name, kind string) {
		if !typed[name] {
			typed[name] = true
			fmt.Fprintf(w, "# TYPE %s %s\n", name, kind)
		}
	}
	for _, name := range Names() {
		s := Shapes[name]
		var mine []seriesKey
		for _, k := range keys {
			if k.shape == name {
				mine = append(mine, k)
			}
		}
		if len(mine) == 0 {
			continue
		}
		if s.Counter != "" {
			typeLine(s.Counter, "counter")
			for _, k := range mine {
				fmt.Fprintf(w, "%s{%s,%s} %g\n", s.Counter, s.labels(k.target), s.status(k.code), snap[k].n)
			}
		}
		typeLine(s.Histogram, "histogram")
		writeHistogram(w, s, mine, snap)
	}
}

// writeHistogram prints a shape's latency histogram: per status when the shape labels it so, else one
// per target over all responses.
func writeHistogram(w io.Writer, s Shape, keys []seriesKey, snap map[seriesKey]counts) {
	type line struct {
		labels string
		c      counts
	}
	var lines []line
	merged := map[Target]int{}
	for _, k := range keys {
		c := snap[k]
		if s.HistCode {
			lines = append(lines, line{s.labels(k.target) + "," + s.status(k.code), c})
			continue
		}
		i, ok := merged[k.target]
		if !ok {
			i = len(lines)
			merged[k.target] = i
			lines = append(lines, line{s.labels(k.target), counts{buckets: make([]float64, len(bucketsSeconds))}})
		}
		lines[i].c.n += c.n
		lines[i].c.sum += c.sum
		for b := range c.buckets {
			lines[i].c.buckets[b] += c.buckets[b]
		}
	}
	scale := 1.0
	if s.Millis {
		scale = 1000
	}
	for _, l := range lines {
		for i, le := range bucketsSeconds {
			fmt.Fprintf(w, "%s_bucket{%s,le=\"%g\"} %g\n", s.Histogram, l.labels, le*scale, l.c.buckets[i])
		}
		fmt.Fprintf(w, "%s_bucket{%s,le=\"+Inf\"} %g\n", s.Histogram, l.labels, l.c.n)
		fmt.Fprintf(w, "%s_sum{%s} %g\n%s_count{%s} %g\n", s.Histogram, l.labels, l.c.sum*scale, s.Histogram, l.labels, l.c.n)
	}
}

// Traffic is a synthetic load: requests per second, the share answered 500, and each one's latency.
type Traffic struct {
	RPS        float64
	ErrorShare float64
	Latency    time.Duration
}

// Handler serves one target's shape with counters growing at a synthetic rate since it was made (tests
// of discovery alone; the test environment records real responses instead).
type Handler struct {
	name   string
	target Target
	rec    *Recorder
	mu     sync.Mutex
	tr     Traffic
	since  time.Time
}

// NewHandler checks the shape name and starts counting.
func NewHandler(name string, t Target, tr Traffic) (*Handler, error) {
	if _, err := Lookup(name); err != nil {
		return nil, err
	}
	h := &Handler{name: name, target: t, rec: NewRecorder(), tr: tr, since: time.Now()}
	// Both series exist from the start, as a counter a client library registers up front does.
	_ = h.rec.Observe(name, t, 200, tr.Latency, 0)
	_ = h.rec.Observe(name, t, 500, tr.Latency, 0)
	return h, nil
}

func (h *Handler) advance() {
	now := time.Now()
	n := h.tr.RPS * now.Sub(h.since).Seconds()
	_ = h.rec.Observe(h.name, h.target, 200, h.tr.Latency, n*(1-h.tr.ErrorShare))
	_ = h.rec.Observe(h.name, h.target, 500, h.tr.Latency, n*h.tr.ErrorShare)
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
	h.mu.Unlock()
	ep, _ := Endpoint(h.name, h.target)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	h.rec.Write(w, ep)
}
