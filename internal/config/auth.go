package config

import (
	"crypto/tls"
	"net/url"
	"slices"
	"time"
)

// Auth configures who may call fixloop serve and the limits on each caller (internal/auth).
type Auth struct {
	// File lists static tokens by SHA-256 and ServiceAccount scopes (a mounted Secret in Kubernetes).
	File string `json:"file,omitempty"`
	// OIDCIssuer and OIDCAudience accept JWTs of that issuer for that audience; OIDCScopePrefix selects
	// fixloop's scopes among the token's ("fixloop:" → "fixloop:read").
	OIDCIssuer      string `json:"oidcIssuer,omitempty"`
	OIDCAudience    string `json:"oidcAudience,omitempty"`
	OIDCScopePrefix string `json:"oidcScopePrefix,omitempty"`
	// TokenReviewAudience accepts Kubernetes ServiceAccount tokens bound to this audience (TokenReview).
	TokenReviewAudience string `json:"tokenReviewAudience,omitempty"`
	// InsecureNoAuth lets serve listen on a non-loopback address without any authentication.
	InsecureNoAuth bool `json:"insecureNoAuth,omitempty"`
	// MetricsPublic serves /metrics without a credential (for a Prometheus without one).
	MetricsPublic bool `json:"metricsPublic,omitempty"`
	// PluginRoute: off | verdicts | authenticated (the AI metric plugin's POST /a2a/analyze and GET /).
	PluginRoute string `json:"pluginRoute"`
	// AllowedHosts are accepted Host headers (DNS rebinding guard); TrustedOrigins may call cross-origin.
	AllowedHosts   []string `json:"allowedHosts,omitempty"`
	TrustedOrigins []string `json:"trustedOrigins,omitempty"`
}

// TLS makes fixloop serve answer HTTPS with a certificate and key in PEM files (a mounted
// kubernetes.io/tls Secret); both files are re-read when they change, so a rotated certificate is
// served without a restart.
type TLS struct {
	CertFile string `json:"certFile,omitempty"`
	KeyFile  string `json:"keyFile,omitempty"`
}

// Enabled reports whether serve should answer HTTPS.
func (t TLS) Enabled() bool { return t.CertFile != "" }

// Limits bound what one caller can cost.
type Limits struct {
	MaxBodyBytes   int      `json:"maxBodyBytes"`
	BodyTimeout    Duration `json:"bodyTimeout"`
	WriteTimeout   Duration `json:"writeTimeout"` // non-streaming routes
	RatePerSecond  int      `json:"ratePerSecond"`
	RateBurst      int      `json:"rateBurst"`
	MCPMaxSessions int      `json:"mcpMaxSessions"`
	MCPSessionIdle Duration `json:"mcpSessionIdle"`
	TaskMaxAge     Duration `json:"taskMaxAge"`
	TaskMaxCount   int      `json:"taskMaxCount"`
}

func defaultAuth() Auth { return Auth{PluginRoute: "off"} }

func defaultLimits() Limits {
	return Limits{MaxBodyBytes: 1 << 20, BodyTimeout: Duration{30 * time.Second}, WriteTimeout: Duration{6 * time.Minute},
		RatePerSecond: 20, RateBurst: 60, MCPMaxSessions: 500, MCPSessionIdle: Duration{10 * time.Minute},
		TaskMaxAge: Duration{7 * 24 * time.Hour}, TaskMaxCount: 10000}
}

// authSettings are the Auth and Limits rows of the settings table.
var authSettings = []setting{
	{"auth-file", []string{"FIXLOOP_AUTH_FILE"}, kString, "auth file: static tokens by SHA-256 and ServiceAccount scopes (see fixloop token)", func(c *Config) any { return &c.Auth.File }},
	{"auth-oidc-issuer", []string{"FIXLOOP_AUTH_OIDC_ISSUER"}, kString, "OIDC issuer URL whose JWTs are accepted", func(c *Config) any { return &c.Auth.OIDCIssuer }},
	{"auth-oidc-audience", []string{"FIXLOOP_AUTH_OIDC_AUDIENCE"}, kString, "audience OIDC tokens must be issued for", func(c *Config) any { return &c.Auth.OIDCAudience }},
	{"auth-oidc-scope-prefix", []string{"FIXLOOP_AUTH_OIDC_SCOPE_PREFIX"}, kString, "prefix of fixloop's scopes in OIDC tokens (e.g. fixloop:)", func(c *Config) any { return &c.Auth.OIDCScopePrefix }},
	{"auth-tokenreview-audience", []string{"FIXLOOP_AUTH_TOKENREVIEW_AUDIENCE"}, kString, "accept Kubernetes ServiceAccount tokens bound to this audience (TokenReview)", func(c *Config) any { return &c.Auth.TokenReviewAudience }},
	{"insecure-no-auth", []string{"FIXLOOP_INSECURE_NO_AUTH"}, kBool, "serve a non-loopback address without authentication (never in production)", func(c *Config) any { return &c.Auth.InsecureNoAuth }},
	{"metrics-public", []string{"FIXLOOP_METRICS_PUBLIC"}, kBool, "serve /metrics without a credential", func(c *Config) any { return &c.Auth.MetricsPublic }},
	{"plugin-route", []string{"FIXLOOP_PLUGIN_ROUTE"}, kString, "AI metric plugin route POST /a2a/analyze: off, verdicts (unauthenticated: verdicts only) or authenticated", func(c *Config) any { return &c.Auth.PluginRoute }},
	{"allowed-hosts", []string{"FIXLOOP_ALLOWED_HOSTS"}, kList, "accepted Host headers (default: localhost names on a loopback listener, any otherwise)", func(c *Config) any { return &c.Auth.AllowedHosts }},
	{"trusted-origins", []string{"FIXLOOP_TRUSTED_ORIGINS"}, kList, "browser origins allowed to call cross-origin", func(c *Config) any { return &c.Auth.TrustedOrigins }},
	{"tls-cert", []string{"FIXLOOP_TLS_CERT"}, kString, "PEM certificate (chain) file: serve HTTPS instead of HTTP (with --tls-key; re-read when it changes)", func(c *Config) any { return &c.TLS.CertFile }},
	{"tls-key", []string{"FIXLOOP_TLS_KEY"}, kString, "PEM private key file of --tls-cert", func(c *Config) any { return &c.TLS.KeyFile }},
	{"max-body-bytes", []string{"FIXLOOP_MAX_BODY_BYTES"}, kInt, "largest request body accepted on any route", func(c *Config) any { return &c.Limits.MaxBodyBytes }},
	{"rate-limit", []string{"FIXLOOP_RATE_LIMIT"}, kInt, "requests per second per caller (0: no limit)", func(c *Config) any { return &c.Limits.RatePerSecond }},
	{"rate-burst", []string{"FIXLOOP_RATE_BURST"}, kInt, "requests a caller may burst above its rate", func(c *Config) any { return &c.Limits.RateBurst }},
	{"mcp-max-sessions", []string{"FIXLOOP_MCP_MAX_SESSIONS"}, kInt, "open MCP sessions at most (0: no limit)", func(c *Config) any { return &c.Limits.MCPMaxSessions }},
	{"task-max-count", []string{"FIXLOOP_TASK_MAX_COUNT"}, kInt, "A2A tasks kept at most; older finished ones are deleted (0: no limit)", func(c *Config) any { return &c.Limits.TaskMaxCount }},
	{"body-timeout", []string{"FIXLOOP_BODY_TIMEOUT"}, kDuration, "time a client has to send a request body", func(c *Config) any { return &c.Limits.BodyTimeout }},
	{"write-timeout", []string{"FIXLOOP_WRITE_TIMEOUT"}, kDuration, "time to write a non-streaming response", func(c *Config) any { return &c.Limits.WriteTimeout }},
	{"mcp-session-idle", []string{"FIXLOOP_MCP_SESSION_IDLE"}, kDuration, "an idle MCP session is dropped after this", func(c *Config) any { return &c.Limits.MCPSessionIdle }},
	{"task-max-age", []string{"FIXLOOP_TASK_MAX_AGE"}, kDuration, "finished A2A tasks are deleted after this", func(c *Config) any { return &c.Limits.TaskMaxAge }},
}

func init() { settings = append(settings, authSettings...) }

// validateAuth reports bad Auth and Limits settings.
func (c *Config) validateAuth(bad func(setting, format string, args ...any)) {
	if !slices.Contains([]string{"off", "verdicts", "authenticated"}, c.Auth.PluginRoute) {
		bad("plugin route (--plugin-route / FIXLOOP_PLUGIN_ROUTE)", "%q is not off, verdicts or authenticated", c.Auth.PluginRoute)
	}
	if (c.Auth.OIDCIssuer == "") != (c.Auth.OIDCAudience == "") {
		bad("OIDC (--auth-oidc-issuer, --auth-oidc-audience)", "set both the issuer and the audience")
	}
	if c.Auth.OIDCIssuer != "" {
		if u, err := url.Parse(c.Auth.OIDCIssuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("OIDC issuer (--auth-oidc-issuer)", "%q is not an https URL", c.Auth.OIDCIssuer)
		}
	}
	c.validateTLS(bad)
	l := c.Limits
	for name, v := range map[string]int{"maxBodyBytes": l.MaxBodyBytes, "ratePerSecond": l.RatePerSecond, "rateBurst": l.RateBurst,
		"mcpMaxSessions": l.MCPMaxSessions, "taskMaxCount": l.TaskMaxCount} {
		if v < 0 {
			bad("limits."+name, "%d is negative (0 disables the limit)", v)
		}
	}
	if l.MaxBodyBytes == 0 {
		bad("limits.maxBodyBytes", "must be positive")
	}
	for name, d := range map[string]time.Duration{"bodyTimeout": l.BodyTimeout.Duration, "writeTimeout": l.WriteTimeout.Duration} {
		if d <= 0 {
			bad("limits."+name, "must be positive, got %s", d)
		}
	}
}

// validateTLS checks that the certificate and key are set together and form a pair.
func (c *Config) validateTLS(bad func(setting, format string, args ...any)) {
	t := c.TLS
	if (t.CertFile == "") != (t.KeyFile == "") {
		bad("TLS (--tls-cert, --tls-key)", "set both the certificate and the key file")
		return
	}
	if !t.Enabled() {
		return
	}
	if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
		bad("TLS (--tls-cert, --tls-key)", "%v", err)
	}
}
