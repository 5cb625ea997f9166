package testenv

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// WaitFor polls cond every interval (at once first) until it holds, then returns; after timeout it fails
// the test naming what it waited for and cond's last note (why the condition did not hold yet). Every
// test in the repository waits on a condition through it (apimachinery's wait underneath), never on a
// fixed sleep.
func WaitFor(t testing.TB, what string, interval, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	if err := Poll(context.Background(), interval, timeout, cond); err != nil {
		t.Fatalf("timed out after %s waiting for %s: %v", timeout, what, err)
	}
}

// Poll is WaitFor for code that reports the error itself (a goroutine, a helper returning error): it
// returns nil once cond holds, or an error carrying cond's last note.
func Poll(ctx context.Context, interval, timeout time.Duration, cond func() (bool, string)) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, interval, timeout, true, func(context.Context) (bool, error) {
		ok, note := cond()
		last = note
		return ok, nil
	})
	if err != nil && last != "" {
		return &pollError{err: err, last: last}
	}
	return err
}

type pollError struct {
	err  error
	last string
}

func (e *pollError) Error() string { return e.err.Error() + "; last: " + e.last }
func (e *pollError) Unwrap() error { return e.err }
