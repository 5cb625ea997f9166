package triage

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/github/ghsink"
	"github.com/fixloop/fixloop/internal/pgtest"
	"github.com/fixloop/fixloop/internal/redact"
	"github.com/fixloop/fixloop/internal/store"
)

// A replica paused (or partitioned) while it files an issue loses its lease to another replica,
// which files the issue; when the stale holder wakes up it must not write to GitHub at all: no second
// issue, no second comment. Real PostgreSQL, two connection pools as two replicas. Without the fencing
// check before writes the stale holder opens a second issue (or comments a second time).
func TestStaleHolderWritesNothingToGitHub(t *testing.T) {
	t.Parallel()
	pgURL := postgresDB(t, "fence")
	for _, existing := range []bool{false, true} {
		name := map[bool]string{false: "new issue", true: "comment on the open issue"}[existing]
		t.Run(name, func(t *testing.T) { testStaleHolderWritesNothing(t, pgURL, existing) })
	}
}

func testStaleHolderWritesNothing(t *testing.T, pgURL string, existing bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sink, err := ghsink.New(ghsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	gate := &pausedReads{arrived: make(chan struct{}), release: make(chan struct{})}
	repA, a := replicaOn(t, pgURL, sink, gate)
	_, b := replicaOn(t, pgURL, sink, nil)
	fp := "fp-fence-" + map[bool]string{false: "new", true: "old"}[existing]
	req := func(occurrence string) github.IssueRequest {
		return github.IssueRequest{Repo: "acme/shop", Fingerprint: fp, Title: "5xx on canary", Summary: "canary answers 5xx", OccurrenceID: occurrence}
	}
	if existing {
		if _, err := b.fileIssue(ctx, "acme/shop", fp, req("first")); err != nil {
			t.Fatal(err)
		}
	}
	before := writes(sink)
	gate.armed.Store(true)
	stale := make(chan error, 1)
	go func() { _, err := a.fileIssue(ctx, "acme/shop", fp, req("from-a")); stale <- err }()
	select {
	case <-gate.arrived: // a read what GitHub held and stopped there: paused, renewing nothing
	case <-ctx.Done():
		t.Fatal("replica a never looked the issue up")
	}
	repA.pause()
	if _, err := b.fileIssue(ctx, "acme/shop", fp, req("from-b")); err != nil {
		t.Fatalf("replica b taking over after a's lease: %v", err)
	}
	afterB := writes(sink)
	close(gate.release) // a wakes up with what it read before b filed
	err = <-stale
	if !errors.Is(err, github.ErrFenced) && !errors.Is(err, store.ErrClaimLost) {
		t.Errorf("stale holder's filing: err = %v, want it refused by the fencing check", err)
	}
	if got := writes(sink); got != afterB {
		t.Errorf("the stale holder sent %d write(s) to GitHub after losing its lease: %v", got-afterB, sink.Requests()[len(sink.Requests())-1])
	}
	if n := len(sink.Issues("acme/shop")); n != 1 {
		t.Errorf("%d issues for one failure, want 1", n)
	}
	if afterB == before {
		t.Errorf("replica b wrote nothing: the takeover was not exercised")
	}
}

// writes counts requests that change GitHub.
func writes(sink *ghsink.Server) int {
	n := 0
	for _, r := range sink.Requests() {
		if r.Method != http.MethodGet {
			n++
		}
	}
	return n
}

// replicaOn is one replica: its own connection pool to the database (renewals it can pause) and its
// own GitHub client, reading through gate when one is given. Claims last 600 ms, so a paused replica
// is taken over quickly.
func replicaOn(t *testing.T, pgURL string, sink *ghsink.Server, gate *pausedReads) (*pausableStore, *Triage) {
	t.Helper()
	st, err := store.OpenPostgres(context.Background(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var h http.Handler = sink
	if gate != nil {
		h = gate.wrap(sink)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	gh, err := github.New(github.Config{BaseURL: ts.URL + "/", Redactor: redact.Default()})
	if err != nil {
		t.Fatal(err)
	}
	ps := &pausableStore{Store: st}
	tr, err := New(Config{Store: ps, GitHub: gh, DefaultRepo: "acme/shop", ClaimLease: 600 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return ps, tr
}

// pausableStore stops renewing leases once paused, as a stopped process (SIGSTOP, a long GC pause, a
// partition from the database) does; its other calls go through when it resumes.
type pausableStore struct {
	store.Store
	mu       sync.Mutex
	paused   bool
	released map[string]bool // claims this replica's holdings ended (released or found lost)
}

func (p *pausableStore) ReleaseClaim(ctx context.Context, key, owner string, done bool, result []byte) error {
	err := p.Store.ReleaseClaim(ctx, key, owner, done, result)
	p.mu.Lock()
	if p.released == nil {
		p.released = map[string]bool{}
	}
	p.released[key] = true
	p.mu.Unlock()
	return err
}

// waitReleased waits until a holding of key on this replica has ended.
func (p *pausableStore) waitReleased(t *testing.T, key string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.released[key], nil
	})
	if err != nil {
		t.Fatalf("the holding of %s never ended", key)
	}
}

func (p *pausableStore) pause() { p.mu.Lock(); p.paused = true; p.mu.Unlock() }

func (p *pausableStore) RenewClaim(ctx context.Context, key, owner string, lease time.Duration) error {
	p.mu.Lock()
	paused := p.paused
	p.mu.Unlock()
	if paused {
		return nil
	}
	return p.Store.RenewClaim(ctx, key, owner, lease)
}

// pausedReads holds the answer to the first GET once armed: the replica has read GitHub's state and
// stops right there until release.
type pausedReads struct {
	armed   atomic.Bool
	once    sync.Once
	arrived chan struct{}
	release chan struct{}
}

func (g *pausedReads) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !g.armed.Load() {
			next.ServeHTTP(w, r)
			return
		}
		first := false
		g.once.Do(func() { first = true })
		if !first {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		close(g.arrived)
		<-g.release
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// postgresDB starts a throwaway PostgreSQL server for the test and returns a fresh database's URL.
func postgresDB(t *testing.T, name string) string {
	t.Helper()
	if os.Getenv("FIXLOOP_SKIP_CLUSTER") == "1" || testing.Short() {
		t.Skip("FIXLOOP_SKIP_CLUSTER=1 or -short: skipping a test that needs PostgreSQL")
	}
	srv, err := pgtest.Start(context.Background())
	if err != nil {
		t.Fatalf("PostgreSQL: %v", err)
	}
	t.Cleanup(srv.Stop)
	url, err := srv.NewDatabase(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return url
}
