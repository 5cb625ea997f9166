package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"

	"github.com/fixloop/fixloop/internal/fence"
)

// ClaimStore hands out leases on named pieces of work (filing the issue of one fingerprint, handing it
// to a coding agent, running its fix) to one holder at a time across every replica sharing the store.
// A lease expires unless renewed, so a crashed replica's claim passes to another after at most one
// lease; a claim released as done is never handed out again.
type ClaimStore interface {
	// AcquireClaim takes key for owner for lease. It returns the current claim and whether owner now
	// holds it: false while another owner's lease is unexpired or the work is done (then Done is set).
	AcquireClaim(ctx context.Context, key, owner string, lease time.Duration) (Claim, bool, error)
	// RenewClaim extends owner's lease; ErrClaimLost when owner no longer holds key.
	RenewClaim(ctx context.Context, key, owner string, lease time.Duration) error
	// ReleaseClaim ends owner's hold. done records the work as finished for good, with result kept;
	// otherwise the next claimer may take it at once. ErrClaimLost when owner no longer holds key.
	ReleaseClaim(ctx context.Context, key, owner string, done bool, result []byte) error
	// CheckClaim is the fencing check before a write: it fails with ErrClaimLost unless owner still
	// holds key under token, and extends the lease so the write that follows has a whole lease to land.
	CheckClaim(ctx context.Context, key, owner string, token int64, lease time.Duration) error
	// GetClaim reads a claim (ErrNotFound when key was never claimed).
	GetClaim(ctx context.Context, key string) (Claim, error)
}

// ErrClaimLost means the lease expired and another owner took the key (or it was never held).
var ErrClaimLost = errors.New("store: claim lost to another owner")

// Claim is the state of one key.
type Claim struct {
	Key   string `json:"key"`
	Owner string `json:"owner"`
	// Token counts the holders so far: each new holder gets a higher one (a fencing token).
	Token     int64     `json:"token"`
	Held      bool      `json:"held"` // false once released
	Done      bool      `json:"done"`
	Result    []byte    `json:"result,omitempty"`
	ExpiresAt time.Time `json:"expiresAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// expired reports whether the holder's lease ran out by now.
func (c Claim) expired(now time.Time) bool { return !now.Before(c.ExpiresAt) }

// leaseBlocks is the one rule of every claim in the store (issue filing, hand-off, fixes, A2A tasks,
// cached analyses, monitor runs and actions all take theirs through AcquireClaim): finished work is never handed out again, and a running holder's unexpired
// lease keeps every other claimer out. The holder itself may claim again (a resumed run) unless the
// caller passes no claimer name.
func leaseBlocks(done, running bool, holder, claimer string, expires, now time.Time) bool {
	return done || running && (claimer == "" || holder != claimer) && now.Before(expires)
}

const claimCols = `owner, token, held, done, result, expires_at, updated_at`

func (s *SQLStore) getClaim(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, key string) (Claim, error) {
	c := Claim{Key: key}
	var held, done int
	var exp, upd int64
	err := q.QueryRowContext(ctx, `SELECT `+claimCols+` FROM claims WHERE key = ?`, key).
		Scan(&c.Owner, &c.Token, &held, &done, &c.Result, &exp, &upd)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	c.Held, c.Done = held == 1, done == 1
	c.ExpiresAt, c.UpdatedAt = time.Unix(0, exp).UTC(), time.Unix(0, upd).UTC()
	return c, err
}

func (s *SQLStore) putClaim(ctx context.Context, tx *sql.Tx, c Claim) error {
	if c.Result == nil {
		c.Result = []byte{}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO claims(key, `+claimCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(key) DO UPDATE SET owner = excluded.owner, token = excluded.token, held = excluded.held,
		done = excluded.done, result = excluded.result, expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
		c.Key, c.Owner, c.Token, boolInt(c.Held), boolInt(c.Done), c.Result, c.ExpiresAt.UnixNano(), c.UpdatedAt.UnixNano())
	return err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// GetClaim implements ClaimStore.
func (s *SQLStore) GetClaim(ctx context.Context, key string) (Claim, error) {
	return s.getClaim(ctx, s.db, key)
}

// AcquireClaim implements ClaimStore.
func (s *SQLStore) AcquireClaim(ctx context.Context, key, owner string, lease time.Duration) (Claim, bool, error) {
	if key == "" || owner == "" || lease <= 0 {
		return Claim{}, false, errors.New("store: a claim needs a key, an owner and a positive lease")
	}
	var cur Claim
	won := false
	err := s.lockedTx(ctx, "claims|"+key, func(tx *sql.Tx) error {
		old, err := s.getClaim(ctx, tx, key)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		now := s.now().UTC()
		found := err == nil
		if found && leaseBlocks(old.Done, old.Held, old.Owner, owner, old.ExpiresAt, now) {
			cur = old
			return nil
		}
		cur = Claim{Key: key, Owner: owner, Token: old.Token + 1, Held: true, ExpiresAt: now.Add(lease), UpdatedAt: now}
		if found && old.Held && old.Owner == owner && !old.expired(now) {
			cur.Token = old.Token // the holder asking again keeps its token
		}
		won = true
		return s.putClaim(ctx, tx, cur)
	})
	return cur, won, err
}

// RenewClaim implements ClaimStore.
func (s *SQLStore) RenewClaim(ctx context.Context, key, owner string, lease time.Duration) error {
	return s.updateHeld(ctx, key, owner, 0, func(c *Claim, now time.Time) { c.ExpiresAt = now.Add(lease) })
}

// CheckClaim implements ClaimStore.
func (s *SQLStore) CheckClaim(ctx context.Context, key, owner string, token int64, lease time.Duration) error {
	if token <= 0 {
		return fmt.Errorf("%w: %s: no fencing token", ErrClaimLost, key)
	}
	return s.updateHeld(ctx, key, owner, token, func(c *Claim, now time.Time) {
		if until := now.Add(lease); until.After(c.ExpiresAt) {
			c.ExpiresAt = until
		}
	})
}

// ReleaseClaim implements ClaimStore.
func (s *SQLStore) ReleaseClaim(ctx context.Context, key, owner string, done bool, result []byte) error {
	return s.updateHeld(ctx, key, owner, 0, func(c *Claim, now time.Time) {
		c.Held, c.Done, c.ExpiresAt = false, done, now
		if done {
			c.Result = result
		}
	})
}

// updateHeld changes owner's claim on key, refusing when another owner has taken it over (or, with a
// token, when the holding is not the one that token names). An expired lease nobody else took is
// still owner's: renewing it late loses nothing.
func (s *SQLStore) updateHeld(ctx context.Context, key, owner string, token int64, change func(*Claim, time.Time)) error {
	return s.lockedTx(ctx, "claims|"+key, func(tx *sql.Tx) error {
		c, err := s.getClaim(ctx, tx, key)
		if errors.Is(err, ErrNotFound) || err == nil && (!c.Held || c.Owner != owner || token != 0 && c.Token != token) {
			return fmt.Errorf("%w: %s", ErrClaimLost, key)
		}
		if err != nil {
			return err
		}
		now := s.now().UTC()
		change(&c, now)
		c.UpdatedAt = now
		return s.putClaim(ctx, tx, c)
	})
}

// NewClaimOwner names one holder: the process (host and pid, for whoever reads the claims table) plus
// a random suffix, so two goroutines of one process never share a lease.
func NewClaimOwner() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return processName + "/" + hex.EncodeToString(b)
}

var processName = func() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", h, os.Getpid())
}()

// Hold runs fn while holding key: it waits for the claim (polling until ctx ends), renews the lease
// every third of it while fn runs, and releases it afterwards, as done when fn returns nil and done is
// true. fn's context is cancelled if the lease is lost (another replica took over after a stall), and
// carries the claim's fencing check (internal/fence): writes made under it are refused once another
// holder has taken the key, even before the next renewal notices. When the work is already done, Hold
// returns the claim without running fn.
func Hold(ctx context.Context, cs ClaimStore, key, owner string, lease time.Duration, done bool, fn func(context.Context) ([]byte, error)) (Claim, error) {
	c, err := waitClaim(ctx, cs, key, owner, lease)
	if err != nil || c.Done {
		return c, err
	}
	return Keep(ctx, cs, c, lease, done, fn)
}

// Keep is Hold for a claim c its caller has just won with AcquireClaim (c.Owner holds it): it runs fn
// with the lease renewed and the fencing check in its context, then releases the claim.
func Keep(ctx context.Context, cs ClaimStore, c Claim, lease time.Duration, done bool, fn func(context.Context) ([]byte, error)) (Claim, error) {
	key, owner := c.Key, c.Owner
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	runCtx = fence.With(runCtx, func(ctx context.Context) error {
		if cause := context.Cause(ctx); errors.Is(cause, ErrClaimLost) {
			return fmt.Errorf("%w: %w", fence.ErrStale, cause) // known lost: no need to ask the store
		}
		err := cs.CheckClaim(ctx, key, owner, c.Token, lease)
		if errors.Is(err, ErrClaimLost) {
			cancel(err)
			return fmt.Errorf("%w: %w", fence.ErrStale, err)
		}
		return err
	})
	stopRenew := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		renewLoop(runCtx, cs, key, owner, lease, stopRenew, cancel)
	}()
	result, ferr := fn(runCtx)
	close(stopRenew)
	<-renewed
	if cause := context.Cause(runCtx); errors.Is(cause, ErrClaimLost) {
		ferr = cause // the work was cut short because another holder took over
	}
	// Release with a fresh context: the caller's may be the one that ended.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer rcancel()
	if rerr := cs.ReleaseClaim(rctx, key, owner, done && ferr == nil, result); rerr != nil && ferr == nil {
		ferr = rerr
	}
	c.Done, c.Result = done && ferr == nil, result
	return c, ferr
}

// waitClaim polls AcquireClaim until owner holds key, the work is done, or ctx ends.
func waitClaim(ctx context.Context, cs ClaimStore, key, owner string, lease time.Duration) (Claim, error) {
	wait := 50 * time.Millisecond
	for {
		c, won, err := cs.AcquireClaim(ctx, key, owner, lease)
		if err != nil || won || c.Done {
			return c, err
		}
		// Jitter spreads replicas' retries; the cap keeps a handover quick once the holder releases.
		j, _ := rand.Int(rand.Reader, big.NewInt(int64(wait)))
		t := time.NewTimer(wait/2 + time.Duration(j.Int64())/2)
		select {
		case <-ctx.Done():
			t.Stop()
			return c, fmt.Errorf("store: waiting for %s (held by %s): %w", key, c.Owner, ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, time.Second)
	}
}

// renewLoop extends the lease every third of it until stop; a lost claim cancels the work.
func renewLoop(ctx context.Context, cs ClaimStore, key, owner string, lease time.Duration, stop <-chan struct{}, cancel context.CancelCauseFunc) {
	tick := time.NewTicker(lease / 3)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
			err := cs.RenewClaim(ctx, key, owner, lease)
			if errors.Is(err, ErrClaimLost) {
				cancel(err)
				return
			}
		}
	}
}
