// Package authtest serves a local OpenID provider for tests: discovery and a JWKS of keys it generates,
// which a test can rotate, and signs tokens with them. It speaks the real wire protocol go-oidc reads.
package authtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Issuer is a local OpenID provider.
type Issuer struct {
	srv  *httptest.Server
	mu   sync.Mutex
	keys map[string]*ecdsa.PrivateKey // kid → key published in the JWKS
	// JWKSFetches counts key set downloads.
	JWKSFetches int
}

// NewIssuer starts a provider publishing one key, "k1"; it stops when the test ends.
func NewIssuer(t testing.TB) *Issuer {
	is := &Issuer{keys: map[string]*ecdsa.PrivateKey{}}
	mux := http.NewServeMux()
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": is.URL(), "jwks_uri": is.URL() + "/jwks",
			"authorization_endpoint": is.URL() + "/authorize", "token_endpoint": is.URL() + "/token",
			"id_token_signing_alg_values_supported": []string{"ES256"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		is.mu.Lock()
		defer is.mu.Unlock()
		is.JWKSFetches++
		var set jose.JSONWebKeySet
		for kid, k := range is.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "ES256", Use: "sig"})
		}
		json.NewEncoder(w).Encode(set)
	})
	is.Rotate(t, "k1")
	return is
}

// Rotate publishes a new key kid and withdraws the others.
func (is *Issuer) Rotate(t testing.TB, kid string) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	clear(is.keys)
	is.keys[kid] = k
}

// Key returns the published private key kid (nil once withdrawn).
func (is *Issuer) Key(kid string) *ecdsa.PrivateKey {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.keys[kid]
}

// TokenOpts describe a token to sign.
type TokenOpts struct {
	KID      string
	Key      *ecdsa.PrivateKey // default: the published key KID
	Iss      string            // default: the issuer
	Aud      string
	Sub      string
	Scope    string        // space-separated
	Lifetime time.Duration // default 1h; negative: already expired
}

// Token signs a JWT.
func (is *Issuer) Token(t testing.TB, o TokenOpts) string {
	if o.Key == nil {
		o.Key = is.Key(o.KID)
	}
	if o.Iss == "" {
		o.Iss = is.URL()
	}
	if o.Lifetime == 0 {
		o.Lifetime = time.Hour
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: o.Key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", o.KID))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := jwt.Claims{Issuer: o.Iss, Subject: o.Sub, Audience: jwt.Audience{o.Aud},
		IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)), Expiry: jwt.NewNumericDate(now.Add(o.Lifetime))}
	raw, err := jwt.Signed(sig).Claims(claims).Claims(map[string]any{"scope": o.Scope}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// URL is the issuer URL.
func (is *Issuer) URL() string { return is.srv.URL }

// Fetches returns how many times the JWKS was downloaded.
func (is *Issuer) Fetches() int {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.JWKSFetches
}
