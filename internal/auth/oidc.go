package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// OIDC verifies JWTs of one issuer for one audience with go-oidc: signature against the issuer's JWKS
// (refetched when a token names an unknown key, which is how rotation reaches us), expiry, issuer and
// audience. Discovery is lazy and retried, so fixloop starts while the issuer is down.
type OIDC struct {
	issuer, audience string
	// scopePrefix selects fixloop's scopes among the token's ("fixloop:read" with prefix "fixloop:").
	scopePrefix string
	client      *http.Client

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	lastTry  time.Time
	lastErr  error
}

// NewOIDC returns a verifier for issuer and audience (both required).
func NewOIDC(issuer, audience, scopePrefix string, client *http.Client) (*OIDC, error) {
	if issuer == "" || audience == "" {
		return nil, errors.New("OIDC needs both an issuer (--auth-oidc-issuer) and an audience (--auth-oidc-audience)")
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &OIDC{issuer: issuer, audience: audience, scopePrefix: scopePrefix, client: client}, nil
}

// Issuer is the issuer URL (advertised in the protected-resource metadata).
func (o *OIDC) Issuer() string { return o.issuer }

// Owns reports whether a JWT names this issuer (without verifying anything: it only routes the token).
func (o *OIDC) Owns(token string) bool {
	return jwtIssuer(token) == strings.TrimRight(o.issuer, "/")
}

const discoveryRetry = 10 * time.Second

func (o *OIDC) getVerifier() (*oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.verifier != nil {
		return o.verifier, nil
	}
	if o.lastErr != nil && time.Since(o.lastTry) < discoveryRetry {
		return nil, o.lastErr
	}
	o.lastTry = time.Now()
	// The key set keeps this context for its later JWKS fetches: it must not be a request's.
	ctx := oidc.ClientContext(context.Background(), o.client)
	p, err := oidc.NewProvider(ctx, o.issuer)
	if err != nil {
		o.lastErr = fmt.Errorf("OIDC issuer %s: discovery failed: %w", o.issuer, err)
		return nil, o.lastErr
	}
	o.verifier, o.lastErr = p.Verifier(&oidc.Config{ClientID: o.audience}), nil
	return o.verifier, nil
}

// Authenticate verifies token and maps its claims to an identity: name oidc:<sub>, scopes from the
// "scope" (space separated) or "scp" (list) claim.
func (o *OIDC) Authenticate(ctx context.Context, token string) (*Identity, error) {
	v, err := o.getVerifier()
	if err != nil {
		return nil, err
	}
	tok, err := v.Verify(ctx, token)
	if err != nil {
		return nil, fmt.Errorf("OIDC token refused: %w", err)
	}
	var claims struct {
		Scope string          `json:"scope"`
		Scp   json.RawMessage `json:"scp"`
	}
	if err := tok.Claims(&claims); err != nil {
		return nil, fmt.Errorf("OIDC token claims: %w", err)
	}
	scopes := strings.Fields(claims.Scope)
	var list []string
	if json.Unmarshal(claims.Scp, &list) == nil {
		scopes = append(scopes, list...)
	} else if s := ""; json.Unmarshal(claims.Scp, &s) == nil {
		scopes = append(scopes, strings.Fields(s)...)
	}
	return &Identity{Name: "oidc:" + tok.Subject, Method: "oidc", Scopes: knownScopes(scopes, o.scopePrefix)}, nil
}

// jwtIssuer reads the unverified "iss" claim of a compact JWT ("" when token is not one).
func jwtIssuer(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(parts[1]) > 16<<10 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return ""
	}
	return strings.TrimRight(c.Iss, "/")
}
