package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/fixloop/fixloop/internal/auth"
)

// accessLog logs one line per HTTP request (route, status, latency, caller) so a client wired wrongly
// (wrong path, refused credentials, a plugin that never calls) shows up in fixloop's own log. It sits
// outside wrap (authentication) so refusals are logged too; the route and the authenticated caller are
// read inside, where the mux and the authenticator have set them.
func accessLog(logger *slog.Logger, wrap func(http.Handler) http.Handler, mux http.Handler) http.Handler {
	inner := wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		if seen, ok := r.Context().Value(accessKey{}).(*accessSeen); ok {
			seen.route = r.Pattern // set by ServeMux on this request
			if id := auth.FromContext(r.Context()); id != nil {
				seen.caller = id.Name
			}
		}
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		seen := &accessSeen{route: "unmatched"}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		inner.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), accessKey{}, seen)))
		caller := seen.caller
		if caller == "" {
			caller = "unauthenticated"
		}
		logger.InfoContext(r.Context(), "http", "method", r.Method, "route", seen.route, "path", r.URL.Path, "status", rec.status,
			"ms", time.Since(start).Milliseconds(), "caller", caller, "remote", r.RemoteAddr, "agent", r.UserAgent())
	})
}

type accessKey struct{}

// accessSeen is what the inner handler learned about the request.
type accessSeen struct{ route, caller string }

// statusRecorder remembers the status code; Flush and Unwrap keep streaming responses (MCP, A2A SSE)
// working through it.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
