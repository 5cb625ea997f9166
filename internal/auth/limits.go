package auth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ReadBody reads the whole request body before next runs: at most max bytes (413 beyond) within
// timeout (408 when the client trickles it), then clears the read deadline so a response stream (MCP
// SSE, A2A streaming) is not cut by it. A slow or huge body therefore holds neither memory nor a
// connection for longer than the limits, whatever the handler does with it.
func ReadBody(max int64, timeout time.Duration, deny DenyFunc, next http.Handler) http.Handler {
	if deny == nil {
		deny = DenyJSON
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > max {
			deny(w, r, Denial{Status: http.StatusRequestEntityTooLarge, Code: "request_too_large",
				Message: fmt.Sprintf("request body of %d bytes is over the %d-byte limit", r.ContentLength, max)})
			return
		}
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(timeout))
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		_ = rc.SetReadDeadline(time.Time{})
		if err != nil {
			status, msg := http.StatusBadRequest, "reading the request body: "+err.Error()
			var tooBig *http.MaxBytesError
			switch {
			case errors.As(err, &tooBig):
				status, msg = http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is over the %d-byte limit", max)
			case errors.Is(err, os.ErrDeadlineExceeded):
				status, msg = http.StatusRequestTimeout, fmt.Sprintf("request body not received within %s", timeout)
			}
			w.Header().Set("Connection", "close")
			deny(w, r, Denial{Status: status, Code: "bad_request", Message: msg})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// WriteWithin bounds the time to write the response of a non-streaming route (http.Server's
// WriteTimeout would also cut MCP and A2A event streams, so it is set per route instead).
func WriteWithin(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d))
		next.ServeHTTP(w, r)
	})
}

// Origins guards against DNS rebinding and cross-site requests from a browser.
type Origins struct {
	// Hosts are the Host header values accepted (without port; "*" accepts any). Empty: localhost names
	// only when Loopback, any host otherwise (a non-loopback listener requires authentication).
	Hosts    []string
	Loopback bool
	// TrustedOrigins may call cross-origin (e.g. a web console), as scheme://host[:port].
	TrustedOrigins []string
}

// Wrap refuses a Host that is not accepted (403), a cross-origin browser request (403, by
// net/http's CrossOriginProtection: Sec-Fetch-Site and Origin against Host), and a POST whose
// Content-Type is not JSON (415): text/plain and forms are what a page can send to another site
// without a CORS preflight. An untyped POST is let through (machine clients such as the AI metric
// plugin may omit the header; a browser sending one cross-site also sends Origin, refused above).
func (o Origins) Wrap(deny DenyFunc, next http.Handler) http.Handler {
	if deny == nil {
		deny = DenyJSON
	}
	cop := http.NewCrossOriginProtection()
	for _, t := range o.TrustedOrigins {
		_ = cop.AddTrustedOrigin(t)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deny(w, r, Denial{Status: http.StatusForbidden, Code: "cross_origin",
			Message: "cross-origin request refused (Origin " + r.Header.Get("Origin") + " is not this server)"})
	}))
	inner := cop.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !o.hostAllowed(r.Host) {
			deny(w, r, Denial{Status: http.StatusForbidden, Code: "bad_host",
				Message: fmt.Sprintf("Host %q is not accepted by this server (DNS rebinding guard; set --allowed-hosts)", r.Host)})
			return
		}
		if ct := r.Header.Get("Content-Type"); r.Method == http.MethodPost && ct != "" && !isJSON(ct) {
			deny(w, r, Denial{Status: http.StatusUnsupportedMediaType, Code: "bad_content_type",
				Message: "POST bodies must be JSON (Content-Type: application/json)"})
			return
		}
		inner.ServeHTTP(w, r)
	})
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

func (o Origins) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	if len(o.Hosts) == 0 {
		return !o.Loopback || host == "localhost" || host == "127.0.0.1" || host == "::1"
	}
	for _, h := range o.Hosts {
		if h == "*" || strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}

// RateLimiter allows each identity rps requests per second with bursts of burst (token bucket from
// golang.org/x/time/rate). Limiters of identities idle for 10 minutes are dropped.
type RateLimiter struct {
	rps   rate.Limit
	burst int
	mu    sync.Mutex
	lim   map[string]*idLimiter
	swept time.Time
}

type idLimiter struct {
	*rate.Limiter
	seen time.Time
}

// NewRateLimiter returns nil (no limit) when rps <= 0.
func NewRateLimiter(rps float64, burst int) *RateLimiter {
	if rps <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	return &RateLimiter{rps: rate.Limit(rps), burst: burst, lim: map[string]*idLimiter{}, swept: time.Now()}
}

// Allow reports whether name may make a request now.
func (l *RateLimiter) Allow(name string) bool {
	if l == nil {
		return true
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, v := range l.lim {
			if now.Sub(v.seen) > 10*time.Minute {
				delete(l.lim, k)
			}
		}
		l.swept = now
	}
	e, ok := l.lim[name]
	if !ok {
		e = &idLimiter{Limiter: rate.NewLimiter(l.rps, l.burst)}
		l.lim[name] = e
	}
	e.seen = now
	return e.AllowN(now, 1)
}

// Wrap answers 429 (with Retry-After) to an identity over its rate; it must run after authentication.
func (l *RateLimiter) Wrap(deny DenyFunc, next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	if deny == nil {
		deny = DenyJSON
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := "unauthenticated"
		if id := FromContext(r.Context()); id != nil {
			name = id.Name
			if id.Method == "none" { // anonymous callers are told apart by address
				host, _, _ := net.SplitHostPort(r.RemoteAddr)
				name += "@" + host
			}
		}
		if !l.Allow(name) {
			w.Header().Set("Retry-After", strconv.Itoa(1+int(1/float64(l.rps))))
			deny(w, r, Denial{Status: http.StatusTooManyRequests, Code: "rate_limited",
				Message: fmt.Sprintf("%s is over its rate limit of %g requests/s", name, float64(l.rps))})
			return
		}
		next.ServeHTTP(w, r)
	})
}
