// Package fence carries the fencing checks of the claims a piece of work runs under (store.Hold puts
// them in the work's context) to the code that writes to the outside world, so that a holder whose
// lease was taken over (it was paused or partitioned while another replica took the work) is refused
// the write instead of repeating what the new holder does.
package fence

import (
	"context"
	"errors"
	"fmt"
)

// ErrStale means a claim the write depends on is no longer this holder's.
var ErrStale = errors.New("fence: the claim behind this write was taken over by another holder")

// Check returns nil while the holder still holds its claim.
type Check func(context.Context) error

type ctxKey struct{}

// With adds check to ctx's checks: nested claims (an issue filed inside a monitor action) all have
// to be current for a write to go out.
func With(ctx context.Context, check Check) context.Context {
	prev, _ := ctx.Value(ctxKey{}).([]Check)
	return context.WithValue(ctx, ctxKey{}, append(prev[:len(prev):len(prev)], check))
}

// Without drops ctx's checks, for work that deliberately outlives the claims it was started under.
func Without(ctx context.Context) context.Context {
	return context.WithValue(ctx, ctxKey{}, []Check(nil))
}

// Verify runs every check in ctx (none: nil). Call it right before a write leaves the process, and
// do not write on an error: ErrStale (taken over) or a check that could not be made (store down),
// where writing could repeat another holder's write.
func Verify(ctx context.Context) error {
	checks, _ := ctx.Value(ctxKey{}).([]Check)
	for _, c := range checks {
		if err := c(ctx); err != nil {
			return fmt.Errorf("fence: %w", err)
		}
	}
	return nil
}
