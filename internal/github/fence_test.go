package github_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/fixloop/fixloop/internal/fence"
	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/github/ghsink"
)

// Every write (a new issue, a reopen, a comment, a hand-off label, assignee or mention, a pull request)
// is checked against the context's fencing checks right before it is sent: a holder whose claim was
// taken over sends nothing, and is not retried. Reads still go through. Without the check each of
// these writes reaches GitHub.
func TestWritesRefusedWhenTheClaimIsNoLongerHeld(t *testing.T) {
	sink, base := newSink(t, ghsink.Options{})
	c := newClient(t, base, nil)
	ctx := context.Background()
	is, err := c.EnsureIssue(ctx, failure("fp-open"))
	if err != nil {
		t.Fatal(err)
	}
	lost := errors.New("claim taken over by replica b")
	checks := 0
	stale := fence.With(ctx, func(context.Context) error { checks++; return fence.ErrStale })
	stale = fence.With(stale, func(context.Context) error { return lost }) // never reached: the first refuses
	before := len(sink.Requests())
	writes := map[string]func() error{
		"new issue": func() error { _, err := c.EnsureIssue(stale, failure("fp-new")); return err },
		"comment":   func() error { return c.CommentIssue(stale, repo, is.Number, "another occurrence") },
		"occurrence": func() error {
			r := failure("fp-open")
			r.OccurrenceID = "other"
			_, err := c.EnsureIssue(stale, r)
			return err
		},
		"label": func() error { return c.HandOff(stale, repo, is.Number, github.Handoff{Kind: "label", Value: "jules"}) },
		"assignee": func() error {
			return c.HandOff(stale, repo, is.Number, github.Handoff{Kind: "assignee", Value: "copilot"})
		},
		"mention": func() error {
			return c.HandOff(stale, repo, is.Number, github.Handoff{Kind: "mention", Value: "@claude fix"})
		},
		"pull request": func() error {
			_, err := c.CreatePullRequest(stale, repo, github.NewPullRequest{Title: "fix", Head: "fixloop/fix-x", Base: "main"})
			return err
		},
	}
	for name, write := range writes {
		if err := write(); !errors.Is(err, github.ErrFenced) || !errors.Is(err, fence.ErrStale) {
			t.Errorf("%s under a stale claim: err = %v, want ErrFenced wrapping fence.ErrStale", name, err)
		}
	}
	for _, r := range sink.Requests()[before:] {
		if r.Method != http.MethodGet {
			t.Errorf("sent under a stale claim: %s %s", r.Method, r.Path)
		}
	}
	if checks != len(writes) {
		t.Errorf("%d fencing checks for %d writes: want one per write, no retries", checks, len(writes))
	}
	// A current claim lets the same write through.
	current := fence.With(ctx, func(context.Context) error { return nil })
	if err := c.CommentIssue(current, repo, is.Number, "another occurrence"); err != nil {
		t.Fatalf("comment under a current claim: %v", err)
	}
}
