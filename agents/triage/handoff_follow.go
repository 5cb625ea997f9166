package triage

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/store"
)

// WebhookPath receives GitHub webhook deliveries (issue_comment, pull_request, issues). A delivery is
// only a nudge to look again through the API: its payload is never believed, so a forged or replayed
// one can at worst cost one conditional request.
const WebhookPath = "/webhooks/github"

const maxWebhookBody = 1 << 20

// VerifySignature checks X-Hub-Signature-256 ("sha256=<hex HMAC of the body>") in constant time.
func VerifySignature(secret string, body []byte, header string) bool {
	if secret == "" || !strings.HasPrefix(header, "sha256=") {
		return false
	}
	got, err := hex.DecodeString(strings.TrimPrefix(header, "sha256="))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// RegisterWebhook mounts WebhookPath when a secret is configured (the signature is its authentication).
func (t *Triage) RegisterWebhook(mux *http.ServeMux, secret string) {
	if secret == "" {
		return
	}
	mux.HandleFunc("POST "+WebhookPath, func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
		if err != nil || len(body) > maxWebhookBody {
			http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
			return
		}
		if !VerifySignature(secret, body, r.Header.Get("X-Hub-Signature-256")) {
			http.Error(w, "bad or missing X-Hub-Signature-256", http.StatusUnauthorized)
			return
		}
		var ev struct {
			Repository struct {
				FullName string `json:"full_name"`
			} `json:"repository"`
		}
		if json.Unmarshal(body, &ev) != nil || ev.Repository.FullName == "" {
			w.WriteHeader(http.StatusAccepted) // pings and other events: nothing to look at
			return
		}
		go t.FollowHandoffs(context.WithoutCancel(r.Context()), ev.Repository.FullName)
		w.WriteHeader(http.StatusAccepted)
	})
}

var followMu sync.Mutex // one sweep at a time: a burst of deliveries costs one look per issue

// FollowHandoffs looks once at every unfinished hand-off (of repo, or all when repo is empty): state
// changes are recorded and a hand-off past the PR timeout is flagged.
func (t *Triage) FollowHandoffs(ctx context.Context, repo string) {
	gh, ok := t.cfg.GitHub.(handoffGitHub)
	if !ok {
		return
	}
	followMu.Lock()
	defer followMu.Unlock()
	// One replica makes the periodic sweep at a time (holding a claim renewed while it sweeps, like
	// every other claim): the others' looks would only spend the same rate-limit quota. A webhook's
	// nudge (repo set) is always looked at.
	if repo != "" {
		t.followAll(ctx, gh, repo)
		return
	}
	c, won, err := t.cfg.Store.AcquireClaim(ctx, "handoff-follow", store.NewClaimOwner(), t.cfg.ClaimLease)
	if err != nil || !won {
		return
	}
	_, _ = store.Keep(ctx, t.cfg.Store, c, t.cfg.ClaimLease, false, func(ctx context.Context) ([]byte, error) {
		t.followAll(ctx, gh, "")
		return nil, nil
	})
}

// followAll follows every unfinished hand-off of repo (all repositories when empty).
func (t *Triage) followAll(ctx context.Context, gh handoffGitHub, repo string) {
	issues, err := t.cfg.Store.ListIssues(ctx)
	if err != nil {
		t.log.Warn("could not list issues to follow hand-offs", "err", err)
		return
	}
	for _, is := range issues {
		if repo != "" && !strings.EqualFold(is.Repo, repo) {
			continue
		}
		rec, found, err := t.loadHandoff(ctx, is.Fingerprint)
		if err != nil || !found || rec.HandedOffAt.IsZero() || finished(rec.Obs.State) { // zero: still being applied
			continue
		}
		t.follow(ctx, gh, rec, 0, nop)
	}
}

func finished(state string) bool {
	return state == github.HandoffPRMerged || state == github.HandoffPRClosed
}

// RunHandoffFollower sweeps every PollInterval until ctx ends, so a hand-off is followed (and flagged)
// even when no analysis asks again.
func (t *Triage) RunHandoffFollower(ctx context.Context) {
	tick := time.NewTicker(t.pollInterval())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t.FollowHandoffs(ctx, "")
		}
	}
}
