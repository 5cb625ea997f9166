// Package prom is fixloop's small window onto Prometheus (HTTP API v1): instant and range queries with
// timeouts and errors that say what to fix.
package prom

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/fixloop/fixloop/internal/telemetry"
)

// ErrNotConfigured is returned by tools when no Prometheus URL was given.
var ErrNotConfigured = errors.New("no Prometheus configured: set FIXLOOP_PROMETHEUS_URL or --prometheus-url")

// ErrUnreachable marks errors reaching Prometheus at all (as opposed to a bad query).
var ErrUnreachable = errors.New("prometheus unreachable")

// Client runs PromQL. *HTTPClient implements it.
type Client interface {
	Query(ctx context.Context, q string, at time.Time) (model.Value, []string, error)
	QueryRange(ctx context.Context, q string, r v1.Range) (model.Value, []string, error)
	URL() string
}

// HTTPClient talks to one Prometheus server.
type HTTPClient struct {
	url     string
	api     v1.API
	timeout time.Duration
}

var _ Client = (*HTTPClient)(nil)

// New validates the URL and builds a client; no request is made.
func New(rawURL string, timeout time.Duration) (*HTTPClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prometheus URL %q is not an http(s) URL like http://prometheus:9090", rawURL)
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	c, err := api.NewClient(api.Config{Address: rawURL, Client: &http.Client{Timeout: timeout, Transport: telemetry.Transport(nil, "prometheus")}})
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %s: %w", rawURL, err)
	}
	return &HTTPClient{url: rawURL, api: v1.NewAPI(c), timeout: timeout}, nil
}

func (c *HTTPClient) URL() string { return c.url }

// Query runs an instant query; warnings from Prometheus are returned alongside.
func (c *HTTPClient) Query(ctx context.Context, q string, at time.Time) (model.Value, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	v, warn, _, err := c.api.Query(ctx, q, at, v1.WithTimeout(c.timeout))
	return v, warn, c.explain(err, q)
}

// QueryRange runs a range query.
func (c *HTTPClient) QueryRange(ctx context.Context, q string, r v1.Range) (model.Value, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	v, warn, _, err := c.api.QueryRange(ctx, q, r, v1.WithTimeout(c.timeout))
	return v, warn, c.explain(err, q)
}

func (c *HTTPClient) explain(err error, q string) error {
	if err == nil {
		return nil
	}
	var perr *v1.Error
	if errors.As(err, &perr) && (perr.Type == v1.ErrBadData || perr.Type == v1.ErrExec) {
		return fmt.Errorf("prometheus at %s rejected query %q: %w", c.url, q, err)
	}
	var ne net.Error
	var oe *net.OpError
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &oe) || errors.As(err, &ne) ||
		strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such host") {
		return fmt.Errorf("%w: prometheus at %s did not answer (check FIXLOOP_PROMETHEUS_URL / --prometheus-url and that Prometheus is up): %v", ErrUnreachable, c.url, err)
	}
	return fmt.Errorf("prometheus at %s, query %q: %w", c.url, q, err)
}
