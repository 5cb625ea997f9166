package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"

	"github.com/fixloop/fixloop/internal/argorun"
)

// errNotFound: fixloop does not know the analysis (it restarted, or forgot a finished one).
var errNotFound = errors.New("analysis not found")

// client talks to one fixloop. Clients are cached per address and TLS settings so connections are
// reused across measurements.
type client struct {
	cfg  *Config
	http *http.Client
}

var clients struct {
	sync.Mutex
	m map[string]*http.Client
}

func newClient(cfg *Config) (*client, error) {
	key := fmt.Sprintf("%s|%s|%v|%d", cfg.URL, cfg.CAFile, cfg.InsecureSkipVerify, cfg.RequestTimeoutSeconds)
	clients.Lock()
	defer clients.Unlock()
	if hc, ok := clients.m[key]; ok {
		return &client{cfg: cfg, http: hc}, nil
	}
	hc, err := cfg.httpClient()
	if err != nil {
		return nil, err
	}
	if clients.m == nil {
		clients.m = map[string]*http.Client{}
	}
	clients.m[key] = hc
	return &client{cfg: cfg, http: hc}, nil
}

// statusURL is the link to one analysis (also shown in the measurement's metadata).
func (c *client) statusURL(id string) string {
	return c.cfg.URL + argorun.Path + "/" + url.PathEscape(id)
}

func (c *client) start(ctx context.Context, req argorun.Request) (*argorun.Status, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var st argorun.Status
	return &st, c.do(ctx, http.MethodPost, c.cfg.URL+argorun.Path, body, &st)
}

func (c *client) get(ctx context.Context, id string) (*argorun.Status, error) {
	var st argorun.Status
	return &st, c.do(ctx, http.MethodGet, c.statusURL(id), nil, &st)
}

func (c *client) cancel(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, c.statusURL(id), nil, nil)
}

func (c *client) do(ctx context.Context, method, u string, body []byte, out any) error {
	token, err := c.cfg.bearer()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "rollouts-plugin-fixloop/"+version)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("fixloop at %s unreachable: %w", c.cfg.URL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading fixloop's answer to %s %s: %w", method, u, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound && method == http.MethodGet:
		return errNotFound
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("fixloop refused the plugin's credentials (%d): check token/tokenFile/tokenEnv: %s", resp.StatusCode, snippet(raw))
	case resp.StatusCode >= 300:
		return fmt.Errorf("fixloop answered %s %s with %d: %s", method, u, resp.StatusCode, snippet(raw))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("fixloop's answer to %s %s is not an analysis status: %w", method, u, err)
	}
	return nil
}

func snippet(b []byte) string {
	if len(b) > 300 {
		b = b[:300]
	}
	return string(bytes.TrimSpace(b))
}
