package redact

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// CorpusEntry is one synthetic secret in its log line (testdata/redaction_corpus.jsonl).
type CorpusEntry struct {
	Kind   string `json:"kind"`
	Secret string `json:"secret"`
	Line   string `json:"line"`
}

func LoadCorpus(t testing.TB) []CorpusEntry {
	t.Helper()
	f, err := os.Open("testdata/redaction_corpus.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []CorpusEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e CorpusEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// Leaked reports whether any part of secret that identifies it survives in out: the whole secret, or
// any 12-character window of it (a template that kept a token's tail leaks it too).
func Leaked(secret, out string) bool {
	for _, part := range strings.Split(secret, "\n") {
		part = strings.TrimSpace(part)
		if strings.HasPrefix(part, "-----") {
			continue // PEM armour lines name the format, they are not the key
		}
		if len(part) < 12 {
			if part != "" && len(part) >= 8 && strings.Contains(out, part) {
				return true
			}
			continue
		}
		for i := 0; i+12 <= len(part); i += 4 {
			if strings.Contains(out, part[i:i+12]) {
				return true
			}
		}
	}
	return false
}

func TestCorpusRedactedDirectly(t *testing.T) {
	r := Default()
	corpus := LoadCorpus(t)
	caught := 0
	for _, e := range corpus {
		if out := r.String(e.Line); Leaked(e.Secret, out) {
			t.Errorf("%s leaked: %q", e.Kind, out)
		} else {
			caught++
		}
	}
	t.Logf("redactor: %d/%d caught", caught, len(corpus))
}

// The false-positive budget: harmless lines (UUIDs, git SHAs, image digests, base64 of plain words,
// timestamps, prose about tokens and keys) must come back unchanged. Budget: 0 of the set.
func TestHarmlessLinesUntouched(t *testing.T) {
	b, err := os.ReadFile("testdata/redaction_harmless.txt")
	if err != nil {
		t.Fatal(err)
	}
	r := Default()
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	fp := 0
	for _, l := range lines {
		if out := r.String(l); out != l {
			fp++
			t.Errorf("false positive: %q → %q", l, out)
		}
	}
	t.Logf("false positives: %d/%d harmless lines", fp, len(lines))
}
