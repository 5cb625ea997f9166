package judge

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/fixloop/fixloop/internal/llm"
)

// scenarioCase is testdata/canary/<case>/case.json.
type scenarioCase struct {
	Expect string   `json:"expect"`
	Ignore []string `json:"ignore"`
	Mask   []string `json:"mask"`
	// MinConfidence, when set, is the least confidence the expected verdict must carry.
	MinConfidence int      `json:"minConfidence"`
	ExtraPrompt   string   `json:"extraPrompt"`
	Notes         string   `json:"notes"`
	Forbid        []string `json:"forbid"`
	ExpectKinds   []string `json:"expectKinds"`
}

type scenario struct {
	name      string
	dir       string
	c         scenarioCase
	in        Input
	rawTokens int
}

const scenarioRoot = "../../testdata/canary"

func loadScenarios(t testing.TB) []scenario {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(scenarioRoot, "*", "case.json"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no scenarios under %s (err %v)", scenarioRoot, err)
	}
	sort.Strings(dirs)
	var out []scenario
	for _, cj := range dirs {
		dir := filepath.Dir(cj)
		var c scenarioCase
		b, err := os.ReadFile(cj)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", cj, err)
		}
		f := Files{Stable: filepath.Join(dir, "stable.log"), Canary: filepath.Join(dir, "canary.log")}
		if _, err := os.Stat(filepath.Join(dir, "stable-metrics.json")); err == nil {
			f.StableMetrics = filepath.Join(dir, "stable-metrics.json")
			f.CanaryMetrics = filepath.Join(dir, "canary-metrics.json")
		}
		in, err := LoadFiles(f)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		in.Ignore, in.Mask, in.ExtraPrompt = c.Ignore, c.Mask, c.ExtraPrompt
		sb, _ := os.ReadFile(f.Stable)
		cb, _ := os.ReadFile(f.Canary)
		out = append(out, scenario{name: filepath.Base(dir), dir: dir, c: c, in: in,
			rawTokens: llm.EstimateTokens(string(sb)) + llm.EstimateTokens(string(cb))})
	}
	return out
}

// TestScenarios runs every labelled case through the deterministic judge and checks the
// verdict, the blocking evidence kinds, redaction, and the JSON contract; under -v it prints a
// table with prompt tokens the LLM would receive against the raw log tokens.
func TestScenarios(t *testing.T) {
	scs := loadScenarios(t)
	if len(scs) < 45 {
		t.Fatalf("only %d scenarios, want >= 45", len(scs))
	}
	var rows []string
	passed, rawTotal, promptTotal := 0, 0, 0
	for _, sc := range scs {
		ok := t.Run(sc.name, func(t *testing.T) {
			v, err := Judge(context.Background(), sc.in, Options{})
			if err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("verdict does not marshal: %v", err)
			}
			if v.Verdict != sc.c.Expect {
				t.Errorf("verdict %s (confidence %d), want %s\n%s\nrootCause: %s\nevidence: %s", v.Verdict, v.Confidence, sc.c.Expect, sc.c.Notes, v.RootCause, evidenceSummary(v))
			}
			if v.Verdict == sc.c.Expect && v.Confidence < sc.c.MinConfidence {
				t.Errorf("confidence %d, want >= %d", v.Confidence, sc.c.MinConfidence)
			}
			checkVerdictContract(t, v, out)
			for _, f := range sc.c.Forbid {
				if strings.Contains(string(out), f) {
					t.Errorf("verdict leaks %q", f)
				}
				req := BuildPrompt(sc.in, v, Options{})
				if strings.Contains(req.Prompt, f) {
					t.Errorf("LLM prompt leaks %q", f)
				}
			}
			for _, k := range sc.c.ExpectKinds {
				found := false
				for _, e := range v.Evidence {
					if e.Kind == k && (e.Severity == SeverityCritical || e.Severity == SeverityWarning) {
						found = true
					}
				}
				if !found {
					t.Errorf("no blocking %s evidence: %s", k, evidenceSummary(v))
				}
			}
			req := BuildPrompt(sc.in, v, Options{})
			promptTokens := llm.EstimateTokens(req.System) + llm.EstimateTokens(req.Prompt)
			rawTotal += sc.rawTokens
			promptTotal += promptTokens
			rows = append(rows, fmt.Sprintf("%-34s %-12s %-12s %3d %7d %7d %5.1f%%  %s", sc.name, sc.c.Expect, v.Verdict, v.Confidence,
				sc.rawTokens, promptTokens, 100*float64(promptTokens)/float64(max(1, sc.rawTokens)), v.Fingerprint))
		})
		if ok {
			passed++
		}
	}
	t.Logf("\n%-34s %-12s %-12s %3s %7s %7s %6s  %s\n%s\nscenarios passed: %d/%d; LLM prompt tokens %d vs raw log tokens %d (%.1f%%)",
		"case", "expected", "verdict", "cnf", "rawTok", "prompt", "ratio", "fingerprint", strings.Join(rows, "\n"),
		passed, len(scs), promptTotal, rawTotal, 100*float64(promptTotal)/float64(max(1, rawTotal)))
}

func evidenceSummary(v *Verdict) string {
	var b strings.Builder
	for _, e := range v.Evidence {
		fmt.Fprintf(&b, "\n  [%s %s] %s %s: %s", e.Severity, e.Kind, shorten(e.Template, 100), e.Metric, e.Detail)
	}
	return b.String()
}

// checkVerdictContract asserts the JSON shape.
func checkVerdictContract(t *testing.T, v *Verdict, out []byte) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"verdict", "promote", "confidence", "analysis", "rootCause", "remediation", "evidence", "fingerprint"} {
		if _, ok := m[k]; !ok {
			t.Errorf("verdict JSON lacks %q", k)
		}
	}
	if v.Promote != (v.Verdict == Promote) {
		t.Errorf("promote %v with verdict %s", v.Promote, v.Verdict)
	}
	if v.Confidence < 0 || v.Confidence > 100 {
		t.Errorf("confidence %d", v.Confidence)
	}
	if v.Analysis == "" || v.RootCause == "" || v.Remediation == "" {
		t.Error("empty explanation field")
	}
	if v.Verdict != Promote && v.Fingerprint == "" {
		t.Error("no fingerprint on a failing verdict")
	}
	for _, e := range m["evidence"].([]any) {
		em := e.(map[string]any)
		if em["kind"] == "" || em["severity"] == "" {
			t.Errorf("evidence without kind/severity: %v", em)
		}
	}
}

// BenchmarkScenarios reports per-case judge time and the prompt/raw token ratio.
func BenchmarkScenarios(b *testing.B) {
	scs := loadScenarios(b)
	var totalRaw, totalPrompt int
	for _, sc := range scs {
		b.Run(sc.name, func(b *testing.B) {
			var v *Verdict
			for b.Loop() {
				v, _ = Judge(context.Background(), sc.in, Options{})
			}
			req := BuildPrompt(sc.in, v, Options{})
			pt := llm.EstimateTokens(req.System) + llm.EstimateTokens(req.Prompt)
			totalRaw += sc.rawTokens
			totalPrompt += pt
			b.ReportMetric(float64(sc.rawTokens), "raw-tokens")
			b.ReportMetric(float64(pt), "prompt-tokens")
			b.ReportMetric(float64(v.Confidence), "confidence")
			b.Logf("%s: expected %s, got %s (confidence %d), prompt %d tokens vs raw %d", sc.name, sc.c.Expect, v.Verdict, v.Confidence, pt, sc.rawTokens)
		})
	}
}
