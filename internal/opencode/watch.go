package opencode

import (
	"context"
	"fmt"
	"time"
)

// Watcher follows one session on the event stream. Open it before prompting so no event is missed.
type Watcher struct {
	api       API
	dir       string
	sessionID string
	stream    *EventStream
	events    chan Event
	streamErr chan error
	cancel    context.CancelFunc
}

// Watch subscribes to the events of dir and filters them to sessionID.
func Watch(ctx context.Context, api API, dir, sessionID string) (*Watcher, error) {
	ctx, cancel := context.WithCancel(ctx)
	w := &Watcher{api: api, dir: dir, sessionID: sessionID, cancel: cancel}
	if err := w.open(ctx); err != nil {
		cancel()
		return nil, err
	}
	return w, nil
}

func (w *Watcher) open(ctx context.Context) error {
	s, err := w.api.Events(ctx, w.dir)
	if err != nil {
		return err
	}
	w.stream = s
	w.events = make(chan Event, 64)
	w.streamErr = make(chan error, 1)
	go func(s *EventStream, out chan<- Event, errc chan<- error) {
		defer close(out)
		for s.Next() {
			select {
			case out <- s.Event():
			case <-ctx.Done():
				return
			}
		}
		errc <- s.Err()
	}(s, w.events, w.streamErr)
	return nil
}

// Close ends the subscription.
func (w *Watcher) Close() {
	w.cancel()
	if w.stream != nil {
		w.stream.Close()
	}
}

// WaitOptions tunes Wait.
type WaitOptions struct {
	// RetryLimit > 0 stops waiting once OpenCode reports this many retries of a failing LLM call
	// (it would retry forever); the caller then aborts the session.
	RetryLimit int
	// Resume checks /session/status first: a session that is not busy is already done.
	Resume bool
	// OnEvent sees every event of the session (progress reporting).
	OnEvent func(Event)
}

// Wait outcomes.
const (
	WaitIdle       = "idle"        // session finished its turn (check Errors: idle also follows an error)
	WaitRetryLimit = "retry_limit" // LLM calls kept failing; session still retrying
)

// WaitResult says how a session's turn ended.
type WaitResult struct {
	Reason    string
	Errors    []string      // session.error messages seen
	LastRetry SessionStatus // last retry status seen (Type "" if none)
}

// Wait blocks until the session is idle, hits the retry limit, or ctx ends (ctx.Err() is returned with
// what was seen so far). A dropped event stream is reopened; the session status bridges the gap.
func (w *Watcher) Wait(ctx context.Context, o WaitOptions) (WaitResult, error) {
	var res WaitResult
	checkStatus := o.Resume
	for {
		if checkStatus {
			st, err := w.api.Status(ctx, w.dir)
			if err != nil {
				return res, err
			}
			cur, busy := st[w.sessionID]
			if !busy || cur.Type == "idle" {
				res.Reason = WaitIdle
				return res, nil
			}
			if cur.Type == "retry" {
				res.LastRetry = cur
				if o.RetryLimit > 0 && cur.Attempt >= o.RetryLimit {
					res.Reason = WaitRetryLimit
					return res, nil
				}
			}
			checkStatus = false
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case ev, ok := <-w.events:
			if !ok {
				// Stream ended: reopen after a short pause and re-read the status we may have missed.
				err := <-w.streamErr
				select {
				case <-ctx.Done():
					return res, ctx.Err()
				case <-time.After(500 * time.Millisecond):
				}
				if oerr := w.open(ctx); oerr != nil {
					return res, fmt.Errorf("event stream lost (%v) and could not be reopened: %w", err, oerr)
				}
				checkStatus = true
				continue
			}
			if sid := ev.SessionID(); sid != w.sessionID {
				// Directory-scoped events (file.edited) carry no session; the directory is the session's.
				if sid == "" && ev.Type == "file.edited" && o.OnEvent != nil {
					o.OnEvent(ev)
				}
				continue
			}
			if o.OnEvent != nil {
				o.OnEvent(ev)
			}
			if msg, isErr := ev.Error(); isErr {
				res.Errors = append(res.Errors, msg)
				continue
			}
			if st, isStatus := ev.Status(); isStatus {
				switch st.Type {
				case "retry":
					res.LastRetry = st
					if o.RetryLimit > 0 && st.Attempt >= o.RetryLimit {
						res.Reason = WaitRetryLimit
						return res, nil
					}
				case "idle":
					res.Reason = WaitIdle
					return res, nil
				}
				continue
			}
			if ev.Type == "session.idle" {
				res.Reason = WaitIdle
				return res, nil
			}
		}
	}
}
