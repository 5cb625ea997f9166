// Package auth is fixloop's one authentication layer: every HTTP route of `fixloop serve` except health,
// readiness and agent cards goes through Middleware, which turns a bearer credential into an Identity
// (name + scopes) in the request context. Three kinds of credential are accepted, tried in this order:
//
//   - static tokens listed in a file (a Kubernetes Secret in production) by their SHA-256 only;
//   - Kubernetes ServiceAccount tokens, checked with the apiserver's TokenReview, bound to an audience;
//   - OIDC JWTs (github.com/coreos/go-oidc/v3) from one issuer for one audience, keys rotated by the
//     issuer's JWKS.
//
// Authorization is by scope: read, write, issue, fix and admin (admin implies every other scope).
package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Scopes a credential can carry.
const (
	ScopeRead  = "read"  // get_*, compare_canary, investigate, triage verdicts
	ScopeWrite = "write" // promote_rollout, abort_rollout
	ScopeIssue = "issue" // open_issue, issue filing by triage
	ScopeFix   = "fix"   // the fixer agent and delegation to it
	ScopeAdmin = "admin" // every scope, and every A2A task whoever created it
)

// AllScopes lists the scopes in a stable order.
var AllScopes = []string{ScopeRead, ScopeWrite, ScopeIssue, ScopeFix, ScopeAdmin}

// Identity is an authenticated caller.
type Identity struct {
	// Name is unique per caller: "token:<name>", "system:serviceaccount:<ns>:<name>", "oidc:<sub>",
	// or "anonymous" when authentication is off.
	Name string `json:"name"`
	// Method is how it was authenticated: token, serviceaccount, oidc or none.
	Method string   `json:"method"`
	Scopes []string `json:"scopes"`
}

// Anonymous is the identity of every caller when authentication is off (loopback or --insecure-no-auth):
// it holds every scope, as fixloop had no authorization before.
func Anonymous() *Identity {
	return &Identity{Name: "anonymous", Method: "none", Scopes: slices.Clone(AllScopes)}
}

// Has reports whether the identity holds scope (admin holds all).
func (id *Identity) Has(scope string) bool {
	if id == nil {
		return false
	}
	return slices.Contains(id.Scopes, scope) || slices.Contains(id.Scopes, ScopeAdmin)
}

// IsAdmin reports whether the identity holds the admin scope.
func (id *Identity) IsAdmin() bool { return id != nil && slices.Contains(id.Scopes, ScopeAdmin) }

type ctxKey struct{}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the caller's identity, or nil when the request was not authenticated (a route
// that lets unauthenticated callers through, or an in-process call).
func FromContext(ctx context.Context) *Identity {
	id, _ := ctx.Value(ctxKey{}).(*Identity)
	return id
}

// Allowed reports whether ctx's caller holds scope. A context without identity is an in-process call
// (the serve command's own agents, stdio MCP) and is allowed: every network entry point sets one.
func Allowed(ctx context.Context, scope string) bool {
	id := FromContext(ctx)
	return id == nil || id.Has(scope)
}

// ErrMissingScope is wrapped by MissingScope errors.
var ErrMissingScope = errors.New("missing scope")

// MissingScope is the error for a caller without scope: it names the scope and the caller.
func MissingScope(ctx context.Context, scope, what string) error {
	name := "caller"
	if id := FromContext(ctx); id != nil {
		name = id.Name
	}
	return fmt.Errorf("%w %q: %s needs it and %s does not hold it", ErrMissingScope, scope, what, name)
}

// ParseScopes validates a scope list (from a token file or OIDC claim) and returns it sorted, deduplicated.
func ParseScopes(in []string) ([]string, error) {
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(strings.ToLower(s))
		if s == "" {
			continue
		}
		if !slices.Contains(AllScopes, s) {
			return nil, fmt.Errorf("unknown scope %q (known: %s)", s, strings.Join(AllScopes, ", "))
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out, nil
}

// knownScopes keeps only known scope names (for claims of external issuers, which carry other scopes
// such as openid or email); prefix, when set, must precede each fixloop scope ("fixloop:read").
func knownScopes(in []string, prefix string) []string {
	var out []string
	for _, s := range in {
		if prefix != "" {
			var ok bool
			if s, ok = strings.CutPrefix(s, prefix); !ok {
				continue
			}
		}
		if slices.Contains(AllScopes, s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}
