package github_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/github/ghsink"
)

// BenchmarkEnsureIssueRepeat: a recurring failure against the local sink (list by label, check comments,
// comment): the cost fixloop adds per repeated occurrence, network on loopback.
func BenchmarkEnsureIssueRepeat(b *testing.B) {
	_, base := newSink(b, ghsink.Options{})
	c := newClient(b, base, func(c *github.Config) { c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil)) })
	ctx := context.Background()
	req := failure("bench")
	if _, err := c.EnsureIssue(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		req.OccurredAt = req.OccurredAt.Add(time.Minute)
		req.OccurrenceID = ""
		if _, err := c.EnsureIssue(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
