package redact

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The false-positive budget on real logs: the 16 Loghub 2k sets (32,000 lines from ../shared/loghub_2k,
// outside the module). What changes there is by design (session ids, e-mail addresses) or within
// a budget of 0.2% of lines; no card number, key or base64 secret may be "found" in them at all.
func TestLoghubFalsePositiveBudget(t *testing.T) {
	dir := sharedLoghub()
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*_2k.log"))
	if len(files) == 0 {
		fmt.Printf("redaction false positives on Loghub: DID NOT RUN (no data at %s)\n", dir)
		return
	}
	r := Default()
	total, changed := 0, 0
	kinds := map[string]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			total++
			out := r.String(l)
			if out == l {
				continue
			}
			changed++
			for _, part := range strings.Split(out, "[REDACTED:")[1:] {
				kinds[part[:strings.IndexByte(part, ']')]]++
			}
		}
	}
	fmt.Printf("redaction false positives on Loghub: %d of %d lines changed (%v)\n", changed, total, kinds)
	if changed*500 > total {
		t.Errorf("%d of %d lines changed: over the 0.2%% budget", changed, total)
	}
	for _, k := range []string{"card_number", "private_key", "aws_secret_key", "api_key"} {
		if kinds[k] > 0 {
			t.Errorf("%d %s found in Loghub, which holds none", kinds[k], k)
		}
	}
}

// sharedLoghub is ../shared/loghub_2k from the module root.
func sharedLoghub() string {
	dir, _ := os.Getwd()
	for dir != filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		dir = filepath.Dir(dir)
	}
	return filepath.Join(dir, "..", "shared", "loghub_2k")
}
