package judge

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// Issue 14: templates were redacted after mining, so the part of a token the miner kept constant
// ("glpat-Xy7Pq2Lm9Wz4-<*>") stayed in the template, the root cause and the issue title while the
// examples were redacted. Records are now redacted before the miner sees them.
func TestSecretsAreRedactedBeforeMining(t *testing.T) {
	// The same token on every line: the miner masks its numeric-looking parts as variables, and what
	// it keeps ("xoxb-<*>-<*>-Q7vR...") no longer looks like a token to a redactor run afterwards.
	cases := map[string]func(i int) string{
		"slack": func(i int) string {
			return fmt.Sprintf("ERROR request %d: slack notify failed with xoxb-123456789012-1234567890123-QvRzTxLmKpWnYsBcDgHjKl", i)
		},
		"planetscale": func(i int) string {
			return fmt.Sprintf("ERROR request %d: db auth failed pscale_tkn_QvRzTxLmKpWn-wpXh4WMb1kf32HMMB9SIh_TD6IsPCr-TQiN12", i)
		},
	}
	for name, line := range cases {
		t.Run(name, func(t *testing.T) { checkNoTokenPart(t, line, "QvRzTxLmKpWn") })
	}
}

func checkNoTokenPart(t *testing.T, line func(int) string, tail string) {
	var stable, canary strings.Builder
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&stable, "INFO GET /api/cart/%d 200 %dms\n", i, 8+i%5)
		fmt.Fprintf(&canary, "INFO GET /api/cart/%d 200 %dms\n", i, 8+i%5)
	}
	for i := 0; i < 20; i++ {
		fmt.Fprintln(&canary, line(i))
	}
	in := Input{Stable: ParseLogText(stable.String(), "stable"), Canary: ParseLogText(canary.String(), "canary")}
	v, err := Judge(context.Background(), in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	prompt := BuildPrompt(in, v, Options{}).Prompt
	for name, text := range map[string]string{"verdict": string(out), "root cause": v.RootCause, "LLM prompt": prompt} {
		for i := 0; i+8 <= len(tail); i += 4 {
			if strings.Contains(text, tail[i:i+8]) {
				t.Errorf("%s carries part of the token (%q):\n%s", name, tail[i:i+8], text)
				break
			}
		}
	}
	if v.Promote || !strings.Contains(string(out), "[REDACTED:") {
		t.Errorf("want an abort naming the redacted token event, got %s", out)
	}
}
