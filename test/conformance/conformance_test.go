// Package conformance runs the MCP conformance suite (npm @modelcontextprotocol/conformance 0.1.16,
// pinned in package-lock.json) server scenarios against the real `fixloop serve`. The suite needs
// Node >= 22, installed from npm (package "node") into ~/.cache/fixloop/node22 when the system's node
// is older. A scenario failing that test/not-applicable.txt does not list with its reason fails the test.
package conformance

import (
	"bytes"
	"context"
	"encoding/json"
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

const nodePackage = "node@22"

// node22 returns a node binary of major version >= 22: the system's, or one npm installs into the cache.
func node22(t *testing.T) string {
	if p, err := exec.LookPath("node"); err == nil && nodeMajor(p) >= 22 {
		return p
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Fatal("npm not found: install Node.js and npm (Debian: apt-get install nodejs npm); the suite then fetches Node 22 from npm")
	}
	cache := os.Getenv("FIXLOOP_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "fixloop")
	}
	dir := filepath.Join(cache, "node22")
	bin := filepath.Join(dir, "node_modules", ".bin", "node")
	if nodeMajor(bin) >= 22 {
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "package.json")); err != nil {
		os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"private":true}`), 0o644)
	}
	npm(t, dir, "install", "--no-audit", "--no-fund", nodePackage)
	if nodeMajor(bin) < 22 {
		t.Fatalf("npm install %s in %s did not give a Node >= 22 binary at %s", nodePackage, dir, bin)
	}
	return bin
}

func nodeMajor(bin string) int {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return 0
	}
	major, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(string(out)), "v"), ".")
	n, _ := strconv.Atoi(major)
	return n
}

func npm(t *testing.T, dir string, args ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
}

type check struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Error  string `json:"errorMessage"`
}

func TestMCPConformanceServerScenarios(t *testing.T) {
	node := node22(t)
	if _, err := os.Stat("node_modules/@modelcontextprotocol/conformance/package.json"); err != nil {
		npm(t, ".", "ci", "--no-audit", "--no-fund")
	}
	// One conformance client runs ~30 scenarios in a few seconds, each with its own session: above the
	// default per-caller burst, which is not what this suite checks.
	srv := fixloopserve.Start(t, "FIXLOOP_RATE_BURST=2000")
	na := fixloopserve.NotApplicable(t, filepath.Join("..", "not-applicable.txt"), "mcp-conformance")
	results := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "node_modules/@modelcontextprotocol/conformance/dist/index.js", "server",
		"--url", srv.Base+"/mcp", "-o", results)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run() // exits 1 when any scenario fails; the per-scenario checks decide
	scenarios := readChecks(t, results, out.String())
	var passed, notApplicable []string
	var unexpected []string
	for scenario, checks := range scenarios {
		failed := false
		for _, c := range checks {
			if c.Status == "FAILURE" {
				failed = true
				if _, ok := na[scenario]; !ok {
					unexpected = append(unexpected, scenario+": "+c.ID+": "+c.Error)
				}
			}
		}
		switch {
		case !failed:
			passed = append(passed, scenario)
		case na[scenario] != "":
			notApplicable = append(notApplicable, scenario+" ("+na[scenario]+")")
		}
	}
	sort.Strings(passed)
	sort.Strings(notApplicable)
	sort.Strings(unexpected)
	t.Logf("MCP conformance: %d scenarios passed, %d not applicable, %d failed", len(passed), len(notApplicable), len(unexpected))
	t.Logf("passed: %s", strings.Join(passed, ", "))
	for _, n := range notApplicable {
		t.Logf("not applicable: %s", n)
	}
	if len(unexpected) > 0 {
		t.Errorf("scenario(s) failed that test/not-applicable.txt does not list:\n  %s\n\nserver log (tail):\n%s",
			strings.Join(unexpected, "\n  "), tail(srv.Log(), 3000))
	}
}

var reStamp = regexp.MustCompile(`-\d{4}-\d{2}-\d{2}T[\d-]+Z?$`)

// readChecks reads <results>/server-<scenario>-<timestamp>/checks.json for every scenario run.
func readChecks(t *testing.T, dir, output string) map[string][]check {
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("the conformance suite wrote no results (%v):\n%s", err, tail(output, 4000))
	}
	out := map[string][]check{}
	for _, e := range entries {
		name := strings.TrimPrefix(e.Name(), "server-")
		name = reStamp.ReplaceAllString(name, "")
		raw, err := os.ReadFile(filepath.Join(dir, e.Name(), "checks.json"))
		if err != nil {
			t.Fatalf("scenario %s: %v", name, err)
		}
		var cs []check
		if err := json.Unmarshal(raw, &cs); err != nil {
			t.Fatalf("scenario %s: checks.json: %v", name, err)
		}
		out[name] = cs
	}
	return out
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
