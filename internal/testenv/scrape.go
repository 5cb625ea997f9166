package testenv

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ScrapeFixloop makes the environment's Prometheus scrape a fixloop server's /metrics at addr
// (host:port) in job "fixloop", with label fixloop_test naming the test, until the test ends. An
// environment started before the job existed has no such job: the test fails saying so.
func (e *Env) ScrapeFixloop(t testing.TB, addr string) {
	t.Helper()
	dir := filepath.Join(e.Dir, "prometheus", "fixloop")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the test environment in %s predates the fixloop scrape job: restart it (make testenv-down testenv-up): %v", e.Dir, err)
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	b, err := json.Marshal([]map[string]any{{"targets": []string{addr}, "labels": map[string]string{"fixloop_test": name}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.json", name, os.Getpid()))
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil { // Prometheus watches the directory: never a half-written file
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(path) })
}
