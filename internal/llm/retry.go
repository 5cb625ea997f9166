package llm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/fixloop/fixloop/internal/retryafter"
)

// retryTransport retries 408, 429 and 5xx answers and transport errors with exponential backoff,
// waiting as long as a Retry-After (or Retry-After-Ms) header asks when there is one, and gives
// each attempt its own timeout. Both SDKs are told not to retry, so this is the one policy.
type retryTransport struct {
	base         http.RoundTripper
	attempts     int
	initial      time.Duration
	maxWait      time.Duration
	attemptLimit time.Duration
}

func retryable(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading request body: %w", err)
		}
	}
	ctx := req.Context()
	var lastErr error
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, t.attemptLimit)
		r := req.Clone(actx)
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			r.ContentLength = int64(len(body))
		}
		resp, err := t.base.RoundTrip(r)
		var wait time.Duration
		switch {
		case err != nil:
			cancel()
			if ctx.Err() != nil {
				return nil, err
			}
			lastErr = err
		case !retryable(resp.StatusCode):
			resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
			return resp, nil
		default:
			var ok bool
			wait, ok = retryafter.Parse(resp.Header, time.Now())
			if !ok {
				wait = 0
			}
			if attempt >= t.attempts || wait > t.maxWait {
				// Out of tries or asked to wait longer than we may: the caller sees this answer.
				resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
				return resp, nil
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16)) // drain so the connection is reused
			resp.Body.Close()
			cancel()
		}
		if attempt >= t.attempts {
			return nil, fmt.Errorf("after %d attempts: %w", attempt, lastErr)
		}
		if wait == 0 {
			backoff := t.initial << (attempt - 1)
			// Full jitter in [backoff/2, backoff] spreads concurrent callers.
			wait = backoff/2 + time.Duration(rand.Int64N(int64(backoff/2)+1))
			wait = min(wait, t.maxWait)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, errors.Join(ctx.Err(), lastErr)
		case <-timer.C:
		}
	}
}

// cancelBody releases the attempt's context once the caller is done with the body.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
