package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TokenReviewer authenticates Kubernetes ServiceAccount tokens with the apiserver's TokenReview API,
// bound to one audience: a token minted for another audience (the apiserver's default, another
// service) is refused, so a token stolen from an unrelated pod does not open fixloop. Scopes come from
// the auth file's serviceAccounts. Results are cached briefly (by the token's hash) so a busy caller
// does not turn every request into an apiserver round trip.
type TokenReviewer struct {
	client   kubernetes.Interface
	audience string
	scopes   func(namespace, name string) ([]string, bool)
	timeout  time.Duration
	now      func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]reviewEntry
}

type reviewEntry struct {
	id      *Identity
	err     error
	expires time.Time
}

const (
	reviewOKTTL   = time.Minute
	reviewFailTTL = 10 * time.Second
	reviewMaxKeys = 4096
)

// NewTokenReviewer checks tokens for audience (required: an unbound review would accept any token of
// the cluster).
func NewTokenReviewer(client kubernetes.Interface, audience string, scopes func(namespace, name string) ([]string, bool)) (*TokenReviewer, error) {
	if client == nil {
		return nil, errors.New("TokenReview needs a cluster (--kubeconfig or in-cluster config)")
	}
	if strings.TrimSpace(audience) == "" {
		return nil, errors.New("TokenReview needs an audience (--auth-tokenreview-audience)")
	}
	return &TokenReviewer{client: client, audience: audience, scopes: scopes, timeout: 5 * time.Second,
		now: time.Now, cache: map[[32]byte]reviewEntry{}}, nil
}

// Audience is the audience tokens must be bound to.
func (t *TokenReviewer) Audience() string { return t.audience }

// Authenticate reviews token; the error says why it was refused.
func (t *TokenReviewer) Authenticate(ctx context.Context, token string) (*Identity, error) {
	key := sha256.Sum256([]byte(token))
	now := t.now()
	t.mu.Lock()
	e, ok := t.cache[key]
	t.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.id, e.err
	}
	id, err, transient := t.review(ctx, token)
	if transient { // an apiserver hiccup is not remembered as a verdict on the token
		return nil, err
	}
	ttl := reviewOKTTL
	if err != nil {
		ttl = reviewFailTTL
	}
	t.mu.Lock()
	if len(t.cache) >= reviewMaxKeys {
		clear(t.cache)
	}
	t.cache[key] = reviewEntry{id: id, err: err, expires: now.Add(ttl)}
	t.mu.Unlock()
	return id, err
}

func (t *TokenReviewer) review(ctx context.Context, token string) (*Identity, error, bool) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	tr := &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token, Audiences: []string{t.audience}}}
	res, err := t.client.AuthenticationV1().TokenReviews().Create(ctx, tr, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("TokenReview failed (fixloop's ServiceAccount needs create on tokenreviews): %w", err), true
	}
	st := res.Status
	if !st.Authenticated {
		reason := st.Error
		if reason == "" {
			reason = "not authenticated"
		}
		return nil, fmt.Errorf("ServiceAccount token refused by the apiserver: %s", reason), false
	}
	if !slices.Contains(st.Audiences, t.audience) {
		return nil, fmt.Errorf("ServiceAccount token is not bound to audience %q", t.audience), false
	}
	ns, name, ok := serviceAccountName(st.User.Username)
	if !ok {
		return nil, fmt.Errorf("%q is not a ServiceAccount; only ServiceAccount tokens are accepted", st.User.Username), false
	}
	scopes, _ := t.scopes(ns, name)
	return &Identity{Name: st.User.Username, Method: "serviceaccount", Scopes: slices.Clone(scopes)}, nil, false
}

func serviceAccountName(user string) (ns, name string, ok bool) {
	rest, ok := strings.CutPrefix(user, "system:serviceaccount:")
	if !ok {
		return "", "", false
	}
	ns, name, ok = strings.Cut(rest, ":")
	return ns, name, ok && ns != "" && name != ""
}
