package judge

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/fixloop/fixloop/internal/logmine"
)

// reqLines makes n demo-app style request lines with varying numbers.
func reqLines(n int, level, color string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("level=%s msg=request method=GET path=/api/%d status=200 duration_ms=%d color=%s", level, i%7, i%13, color)
	}
	return out
}

// repeatLine makes n copies of a format with the index substituted (different IDs, same event).
func repeatLine(n int, format string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, 1000+i*37)
	}
	return out
}

func recs(lines ...[]string) []logmine.Record {
	var all []string
	for _, l := range lines {
		all = append(all, l...)
	}
	return ParseLogText(strings.Join(all, "\n")+"\n", "test")
}

func mustJudge(t *testing.T, in Input, o Options) *Verdict {
	t.Helper()
	v, err := Judge(context.Background(), in, o)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// findEvidence returns the first evidence of a kind (and severity, when given).
func findEvidence(v *Verdict, kind, severity string) *Evidence {
	for i, e := range v.Evidence {
		if e.Kind == kind && (severity == "" || e.Severity == severity) {
			return &v.Evidence[i]
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
