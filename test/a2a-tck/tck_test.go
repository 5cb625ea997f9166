// Package tck runs the A2A Technology Compatibility Kit (a2aproject/a2a-tck, A2A 1.0; a copy lives in
// ../shared/a2a-tck beside the repository) against the real `fixloop serve`: the mandatory and
// capabilities categories over JSON-RPC. A failing scenario that test/not-applicable.txt does not list
// with its reason fails the test.
package tck

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fixloop/fixloop/test/fixloopserve"
)

// The Python package index is unreachable here: the TCK's dependencies come from Debian (.ci/run).
const debianDeps = "python3-pytest python3-pytest-asyncio python3-httpx python3-requests python3-responses python3-deepdiff " +
	"python3-jsonschema python3-packaging python3-yaml python3-dotenv python3-aiohttp python3-openssl python3-grpcio python3-protobuf"

func tckSource(t *testing.T) string {
	dir := os.Getenv("FIXLOOP_A2A_TCK_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "a2a-tck")
	}
	if _, err := os.Stat(filepath.Join(dir, "run_tck.py")); err != nil {
		t.Skipf("A2A TCK NOT RUN: no TCK at %s (../shared/a2a-tck beside the repository, or FIXLOOP_A2A_TCK_DIR)", dir)
	}
	abs, _ := filepath.Abs(dir)
	return abs
}

// python finds an interpreter with the TCK's modules (Debian's /usr/bin/python3 first: a pyenv python3
// earlier on PATH does not see Debian's packages).
func python(t *testing.T) string {
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import pytest, pytest_asyncio, httpx, requests, deepdiff, jsonschema, yaml, dotenv, aiohttp").Run() == nil {
			return p
		}
	}
	t.Fatalf("no python3 with the A2A TCK's modules: apt-get install -y %s", debianDeps)
	return ""
}

// copyTree copies the TCK to a writable place (it writes reports and caches beside itself).
func copyTree(t *testing.T, src string) string {
	dst := filepath.Join(t.TempDir(), "a2a-tck")
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("copy TCK: %v\n%s", err, out)
	}
	return dst
}

var (
	reFailed  = regexp.MustCompile(`(?m)^(?:FAILED|ERROR) (tests/\S+)`)
	reSummary = regexp.MustCompile(`(?m)^=*\s*(.*\d+ (?:passed|failed).* in [\d.]+s.*?)=*$`)
)

func TestA2ATCK(t *testing.T) {
	src := tckSource(t)
	py := python(t)
	tck := copyTree(t, src)
	na := fixloopserve.NotApplicable(t, filepath.Join("..", "not-applicable.txt"), "a2a-tck")
	// The kit sends bursts above the default per-caller burst, which is not what it checks.
	open := fixloopserve.Start(t, "FIXLOOP_RATE_BURST=2000")
	for _, category := range []string{"mandatory", "capabilities"} {
		t.Run(category, func(t *testing.T) { runTCK(t, py, tck, open, category, na) })
	}
	// With a token configured the card declares the bearer scheme and the kit's authentication scenarios
	// check that calls without it, or with a wrong one, are refused.
	token := "tck-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	sum := sha256.Sum256([]byte(token))
	authFile := filepath.Join(t.TempDir(), "auth.yaml")
	entry := "tokens:\n- name: a2a-tck\n  sha256: " + hex.EncodeToString(sum[:]) + "\n  scopes: [read]\n"
	if err := os.WriteFile(authFile, []byte(entry), 0o600); err != nil {
		t.Fatal(err)
	}
	authed := fixloopserve.Start(t, "FIXLOOP_RATE_BURST=2000", "FIXLOOP_AUTH_FILE="+authFile)
	withAuth := fixloopserve.NotApplicable(t, filepath.Join("..", "not-applicable.txt"), "a2a-tck-auth")
	for id, reason := range na {
		withAuth[id] = reason
	}
	t.Run("mandatory-with-bearer-auth", func(t *testing.T) {
		runTCK(t, py, tck, authed, "mandatory", withAuth, "A2A_AUTH_TYPE=bearer", "A2A_AUTH_TOKEN="+token)
	})
}

func runTCK(t *testing.T, py, tck string, srv *fixloopserve.Server, category string, na map[string]string, env ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "run_tck.py", "--sut-url", srv.Base+"/agents/triage/", "--category", category)
	cmd.Dir = tck
	cmd.Env = append(append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1"), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	summary := reSummary.FindStringSubmatch(out.String())
	if summary == nil {
		t.Fatalf("TCK %s produced no pytest summary (%v):\n%s", category, runErr, tail(out.String(), 4000))
	}
	t.Logf("A2A TCK %s: %s", t.Name(), strings.TrimSpace(summary[1]))
	checkFailures(t, category, reFailed.FindAllStringSubmatch(out.String(), -1), na, out.String(), srv)
}

func checkFailures(t *testing.T, category string, failed [][]string, na map[string]string, out string, srv *fixloopserve.Server) {
	var unexpected, expected []string
	for _, m := range failed {
		id := m[1]
		if reason, ok := na[id]; ok {
			expected = append(expected, id+" ("+reason+")")
		} else {
			unexpected = append(unexpected, id)
		}
	}
	sort.Strings(expected)
	for _, e := range expected {
		t.Logf("not applicable: %s", e)
	}
	if len(unexpected) > 0 {
		t.Errorf("A2A TCK %s: %d scenario(s) failed that test/not-applicable.txt does not list:\n  %s\n\nTCK output (tail):\n%s\n\nserver log (tail):\n%s",
			category, len(unexpected), strings.Join(unexpected, "\n  "), tail(out, 12000), tail(srv.Log(), 3000))
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
