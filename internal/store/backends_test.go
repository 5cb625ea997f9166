package store

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/fixloop/fixloop/internal/pgtest"
)

// One PostgreSQL server serves the package's tests (each test gets its own database); TestMain stops it.
var (
	pgOnce   sync.Once
	pgServer *pgtest.Server
	pgErr    error
	pgDBs    atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pgServer != nil {
		pgServer.Stop()
	}
	os.Exit(code)
}

// opener opens the test's store anew each call (same file or database), closed at the test's end.
type opener func(t *testing.T) *SQLStore

// eachBackend runs fn against SQLite and against PostgreSQL. A missing PostgreSQL fails the test; it is
// skipped only under FIXLOOP_SKIP_CLUSTER=1 or -short, like the other tests needing local servers.
func eachBackend(t *testing.T, fn func(t *testing.T, open opener)) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		fn(t, func(t *testing.T) *SQLStore { return openTest(t, dir) })
	})
	t.Run("postgres", func(t *testing.T) {
		url := newPostgresDB(t)
		fn(t, func(t *testing.T) *SQLStore { return openPostgresTest(t, url) })
	})
}

func newPostgresDB(t *testing.T) string {
	t.Helper()
	if os.Getenv("FIXLOOP_SKIP_CLUSTER") == "1" || testing.Short() {
		t.Skip("FIXLOOP_SKIP_CLUSTER=1 or -short: skipping the PostgreSQL backend")
	}
	pgOnce.Do(func() { pgServer, pgErr = pgtest.Start(context.Background()) })
	if pgErr != nil {
		t.Fatalf("PostgreSQL backend: %v", pgErr)
	}
	name := fmt.Sprintf("t%d_%s", pgDBs.Add(1), strings.ToLower(strings.NewReplacer("/", "_", "-", "_").Replace(t.Name())))
	if len(name) > 60 {
		name = name[:60]
	}
	url, err := pgServer.NewDatabase(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return url
}

func openPostgresTest(t *testing.T, url string) *SQLStore {
	t.Helper()
	s, err := OpenPostgres(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
