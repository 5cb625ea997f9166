package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Output that is not a terminal (CI, a log file) gets plain lines: no carriage returns, no escape
// codes, no spinner runs, and a progress line that says what is awaited and for how long.
func TestDemoOutputWithoutTerminalIsPlain(t *testing.T) {
	var out bytes.Buffer
	tm := detectTerm(&out)
	if tm.tty || tm.color || tm.bold("x") != "x" {
		t.Fatalf("a buffer detected as a terminal: %+v", tm)
	}
	w := tm.waiter(&out, "the rollout", 3*time.Minute)
	for range 50 {
		w.tick()
	}
	w.line("rollout: %s", "Progressing")
	w.lastMsg = time.Now().Add(-progressEvery) // as if the last line was printed progressEvery ago
	w.tick()
	s := out.String()
	if strings.ContainsAny(s, "\r\033") || strings.Contains(s, "|") {
		t.Errorf("terminal control characters or spinner in plain output: %q", s)
	}
	want := "  rollout: Progressing\n  still waiting for the rollout ("
	if !strings.HasPrefix(s, want) || !strings.HasSuffix(s, "of up to 3m0s)\n") {
		t.Errorf("output = %q, want the status line then one progress line", s)
	}
}

func TestDemoTerminalSpinsInPlace(t *testing.T) {
	var out bytes.Buffer
	w := termOut{tty: true, color: true}.waiter(&out, "the rollout", time.Minute)
	w.tick()
	w.line("rollout: %s", "Healthy")
	if got := out.String(); got != "\r  / waiting for the rollout ...\r  rollout: Healthy\033[K\n" {
		t.Errorf("terminal output = %q", got)
	}
}

func TestDemoRepoFilesAreWrittenFromTheEmbeddedSource(t *testing.T) {
	dir := t.TempDir()
	if err := writeDemoRepoFiles(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "palette.go"))
	if err != nil || !strings.Contains(string(b), "func ColorAt") {
		t.Fatalf("palette.go = %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatal(err)
	}
}
