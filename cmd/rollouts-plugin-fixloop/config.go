package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
)

// PluginName is the name the plugin is registered under in argo-rollouts-config and the key of its
// configuration in an AnalysisTemplate's provider.plugin.
const PluginName = "fixloop/canary"

// Config is the plugin's configuration in the AnalysisTemplate (provider.plugin."fixloop/canary").
type Config struct {
	// URL of `fixloop serve`, e.g. https://fixloop.fixloop.svc:8443.
	URL string `json:"url"`
	// The bearer token fixloop's authentication expects, from exactly one of: Token (put
	// "{{args.fixloop-token}}" there with the arg's valueFrom.secretKeyRef, so Argo redacts it), TokenFile
	// (read on every call, so a rotated Secret volume is picked up) or TokenEnv (a variable of the
	// controller's environment).
	Token     string `json:"token,omitempty"`
	TokenFile string `json:"tokenFile,omitempty"`
	TokenEnv  string `json:"tokenEnv,omitempty"`
	// CAFile verifies fixloop's TLS certificate (default: the system roots). InsecureSkipVerify is for
	// test clusters only.
	CAFile             string `json:"caFile,omitempty"`
	InsecureSkipVerify bool   `json:"insecureSkipVerify,omitempty"`
	// Rollout overrides the rollout analysed (default: the AnalysisRun's owner).
	Rollout string `json:"rollout,omitempty"`
	// What fixloop's analysis takes from the template.
	Ignore      []string `json:"ignore,omitempty"` // regexes: matching log records are dropped
	Mask        []string `json:"mask,omitempty"`   // regexes: matched text masked (a value changed on purpose)
	ExtraPrompt string   `json:"extraPrompt,omitempty"`
	RepoURL     string   `json:"repoUrl,omitempty"`
	BaseBranch  string   `json:"baseBranch,omitempty"`
	// PollSeconds between polls of a running analysis (default 5); TimeoutSeconds bounds one analysis
	// (default 600: then the measurement is an Error); RequestTimeoutSeconds bounds one HTTP call (10).
	PollSeconds           int `json:"pollSeconds,omitempty"`
	TimeoutSeconds        int `json:"timeoutSeconds,omitempty"`
	RequestTimeoutSeconds int `json:"requestTimeoutSeconds,omitempty"`
}

// parseConfig reads and validates the metric's plugin configuration.
func parseConfig(metric v1alpha1.Metric) (*Config, error) {
	raw, ok := metric.Provider.Plugin[PluginName]
	if !ok {
		return nil, fmt.Errorf("metric %q has no provider.plugin.%q configuration", metric.Name, PluginName)
	}
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("provider.plugin.%q: %w", PluginName, err)
	}
	return &c, c.validate()
}

func (c *Config) validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q must be fixloop's http(s):// address", c.URL)
	}
	sources := 0
	for _, s := range []string{c.Token, c.TokenFile, c.TokenEnv} {
		if s != "" {
			sources++
		}
	}
	if sources > 1 {
		return errors.New("set only one of token, tokenFile, tokenEnv")
	}
	if c.PollSeconds <= 0 {
		c.PollSeconds = 5
	}
	if c.TimeoutSeconds <= 0 {
		c.TimeoutSeconds = 600
	}
	if c.RequestTimeoutSeconds <= 0 {
		c.RequestTimeoutSeconds = 10
	}
	c.URL = strings.TrimRight(c.URL, "/")
	return nil
}

// bearer returns the token to send, "" when none is configured.
func (c *Config) bearer() (string, error) {
	switch {
	case c.Token != "":
		return strings.TrimSpace(c.Token), nil
	case c.TokenEnv != "":
		v := strings.TrimSpace(os.Getenv(c.TokenEnv))
		if v == "" {
			return "", fmt.Errorf("tokenEnv %s is empty in the controller's environment", c.TokenEnv)
		}
		return v, nil
	case c.TokenFile != "":
		b, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return "", fmt.Errorf("tokenFile: %w", err)
		}
		if len(b) > 16<<10 || strings.TrimSpace(string(b)) == "" {
			return "", fmt.Errorf("tokenFile %s is empty or larger than 16 KiB", c.TokenFile)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

// httpClient builds the client for this configuration. Redirects are refused: the token must only go
// to the configured address.
func (c *Config) httpClient() (*http.Client, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // opt-in, documented as test-only
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("caFile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("caFile %s holds no PEM certificate", c.CAFile)
		}
		tc.RootCAs = pool
	}
	return &http.Client{
		Timeout:   time.Duration(c.RequestTimeoutSeconds) * time.Second,
		Transport: &http.Transport{TLSClientConfig: tc, Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("fixloop answered with a redirect; set url to its final address")
		},
	}, nil
}
