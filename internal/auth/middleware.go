package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// Authenticator turns a request's bearer credential into an Identity.
type Authenticator struct {
	Static   *Static        // nil: no static tokens
	Reviewer *TokenReviewer // nil: no ServiceAccount tokens
	OIDC     *OIDC          // nil: no OIDC
	// Off: no credential is checked and every caller is Anonymous (loopback, or --insecure-no-auth).
	Off bool
	// ResourceMetadata is the URL of this server's RFC 9728 metadata for a request (named in the
	// WWW-Authenticate challenge so MCP clients can find the authorization server).
	ResourceMetadata func(r *http.Request) string
	Logger           *slog.Logger
}

// Errors of Authenticate.
var (
	ErrNoCredentials = errors.New("no bearer token (send Authorization: Bearer <token>)")
	ErrBadToken      = errors.New("invalid bearer token")
)

// Configured reports whether any kind of credential is accepted.
func (a *Authenticator) Configured() bool {
	return a != nil && (a.Static != nil && !a.Static.Empty() || a.Reviewer != nil || a.OIDC != nil)
}

// Schemes names the configured credential kinds (for A2A cards and logs).
func (a *Authenticator) Schemes() []string {
	var out []string
	if a == nil || a.Off {
		return nil
	}
	if a.Static != nil && !a.Static.Empty() {
		out = append(out, "token")
	}
	if a.Reviewer != nil {
		out = append(out, "serviceaccount")
	}
	if a.OIDC != nil {
		out = append(out, "oidc")
	}
	return out
}

// Authenticate checks r's credential. With Off it returns Anonymous.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request) (*Identity, error) {
	if a.Off {
		return Anonymous(), nil
	}
	token, ok := bearer(r)
	if !ok {
		return nil, ErrNoCredentials
	}
	return a.AuthenticateToken(ctx, token)
}

// AuthenticateToken checks one bearer token: static tokens first (a hash lookup), then a JWT goes to
// the OIDC issuer it names, else to TokenReview.
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string) (*Identity, error) {
	if len(token) > 16<<10 {
		return nil, fmt.Errorf("%w: longer than 16 KiB", ErrBadToken)
	}
	if a.Static != nil {
		if id := a.Static.Lookup(token); id != nil {
			return id, nil
		}
	}
	isJWT := strings.Count(token, ".") == 2
	if isJWT && a.OIDC != nil && a.OIDC.Owns(token) {
		id, err := a.OIDC.Authenticate(ctx, token)
		return id, wrapBad(err)
	}
	if isJWT && a.Reviewer != nil {
		id, err := a.Reviewer.Authenticate(ctx, token)
		return id, wrapBad(err)
	}
	return nil, fmt.Errorf("%w: not a configured token", ErrBadToken)
}

func wrapBad(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %v", ErrBadToken, err)
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// Denial is a refused request: HTTP status (401 or 403), an OAuth error code ("invalid_token",
// "insufficient_scope", or "" for a missing credential), the scope that was missing and a message.
type Denial struct {
	Status  int
	Code    string
	Scope   string
	Message string
}

// DenyFunc writes a refusal in a surface's own shape (MCP, A2A JSON-RPC, Argo JSON). The
// WWW-Authenticate challenge is already set.
type DenyFunc func(w http.ResponseWriter, r *http.Request, d Denial)

// Route describes what a route needs.
type Route struct {
	// Scope is required of every caller (empty: any authenticated caller).
	Scope string
	// Anonymous, when set, is the identity given to a caller without any credential (the AI metric
	// plugin, which cannot send one). A caller that sends a credential must still send a valid one.
	Anonymous *Identity
	Deny      DenyFunc
}

// Wrap authenticates every request to next as route says.
func (a *Authenticator) Wrap(route Route, next http.Handler) http.Handler {
	if route.Deny == nil {
		route.Deny = DenyJSON
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := a.Authenticate(r.Context(), r)
		if errors.Is(err, ErrNoCredentials) && route.Anonymous != nil {
			id, err = route.Anonymous, nil
		}
		if err != nil {
			a.deny(w, r, route.Deny, Denial{Status: http.StatusUnauthorized, Code: oauthCode(err), Message: err.Error()})
			return
		}
		if route.Scope != "" && !id.Has(route.Scope) {
			a.deny(w, r, route.Deny, Denial{Status: http.StatusForbidden, Code: "insufficient_scope", Scope: route.Scope,
				Message: fmt.Sprintf("%s does not hold scope %q, which %s needs", id.Name, route.Scope, r.URL.Path)})
			return
		}
		next.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), id)))
	})
}

func oauthCode(err error) string {
	if errors.Is(err, ErrNoCredentials) {
		return "" // RFC 6750 §3.1: no error code when the request had no credential
	}
	return "invalid_token"
}

func (a *Authenticator) deny(w http.ResponseWriter, r *http.Request, deny DenyFunc, d Denial) {
	if a.Logger != nil {
		level := slog.LevelInfo
		if d.Code == "" { // no credential at all: routine (probes, discovery); keep floods out of the log
			level = slog.LevelDebug
		}
		a.Logger.Log(r.Context(), level, "request refused", "path", r.URL.Path, "status", d.Status, "reason", d.Message, "remote", r.RemoteAddr)
	}
	w.Header().Set("WWW-Authenticate", a.challenge(r, d))
	deny(w, r, d)
}

// challenge is the RFC 6750 / RFC 9728 WWW-Authenticate value.
func (a *Authenticator) challenge(r *http.Request, d Denial) string {
	parts := []string{`realm="fixloop"`}
	if a.ResourceMetadata != nil {
		parts = append(parts, fmt.Sprintf("resource_metadata=%q", a.ResourceMetadata(r)))
	}
	if d.Code != "" {
		parts = append(parts, fmt.Sprintf("error=%q", d.Code))
	}
	if d.Scope != "" {
		parts = append(parts, fmt.Sprintf("scope=%q", d.Scope))
	}
	return "Bearer " + strings.Join(parts, ", ")
}

// DenyJSON writes {"error": code, "error_description": message} (OAuth's shape; the Argo routes and MCP).
func DenyJSON(w http.ResponseWriter, _ *http.Request, d Denial) {
	code := d.Code
	if code == "" {
		code = "unauthorized"
	}
	writeJSON(w, d.Status, map[string]string{"error": code, "error_description": d.Message})
}

// DenyJSONRPC writes a JSON-RPC 2.0 error with A2A's codes (-31401 unauthenticated, -31403
// unauthorized) under the HTTP status, so both A2A 1.0 and 0.3 clients surface the reason.
func DenyJSONRPC(w http.ResponseWriter, _ *http.Request, d Denial) {
	code := -31401
	if d.Status == http.StatusForbidden {
		code = -31403
	}
	writeJSON(w, d.Status, map[string]any{"jsonrpc": "2.0", "id": nil,
		"error": map[string]any{"code": code, "message": d.Message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ProtectedResource serves RFC 9728 metadata for the MCP endpoint: the resource URL, the OIDC issuer
// as authorization server (when configured) and the scopes.
func (a *Authenticator) ProtectedResource(resource func(r *http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		md := map[string]any{
			"resource":                 resource(r),
			"resource_name":            "fixloop",
			"bearer_methods_supported": []string{"header"},
			"scopes_supported":         AllScopes,
			"authorization_servers":    []string{},
		}
		if a.OIDC != nil {
			md["authorization_servers"] = []string{a.OIDC.Issuer()}
		}
		w.Header().Set("Access-Control-Allow-Origin", "*")
		writeJSON(w, http.StatusOK, md)
	})
}
