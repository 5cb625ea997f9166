package triage

import (
	"context"
	"time"

	"github.com/fixloop/fixloop/internal/store"
)

// defaultClaimLease bounds how long a crashed replica's claim holds the others back; a live holder
// renews it every third of that, however long its GitHub or fixer calls take.
const defaultClaimLease = 15 * time.Second

// holding runs fn while this call holds key in the store, so replicas sharing the store (and calls
// within one process) do a read-modify-write against GitHub one after the other, never side by side.
func (t *Triage) holding(ctx context.Context, key string, fn func(context.Context) error) error {
	_, err := store.Hold(ctx, t.cfg.Store, key, store.NewClaimOwner(), t.cfg.ClaimLease, false, func(ctx context.Context) ([]byte, error) {
		return nil, fn(ctx)
	})
	return err
}
