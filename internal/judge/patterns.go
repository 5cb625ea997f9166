package judge

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/fixloop/fixloop/internal/logmine"
)

// Operator patterns, as users mean them:
//   - ignore drops the log records whose message matches (like grep -v): events about X do not count;
//   - mask replaces the matched text with a placeholder, so a value (a colour, a version) does not
//     split one event into two templates.
//
// Metrics are never silenced by log patterns.

// MaskPlaceholder replaces text a mask pattern matched.
const MaskPlaceholder = "<masked>"

// Limits on operator patterns: they may come from request bodies.
const (
	maxPatterns     = 32
	maxPatternBytes = 512
)

// broadProbes are ordinary log messages of unrelated kinds. A pattern matching nearly all of them
// matches most records of any log (".", "\S+", "\w", "e"), so it would ignore or mask everything:
// a way to turn any abort into a promote.
var broadProbes = []string{
	"GET /healthz 200",
	"connected to database",
	"panic: runtime error: index out of range",
	"Traceback (most recent call last):",
	"user 42 logged in",
	"cache miss ratio high",
	"order saved id=981",
	"retrying request",
	"500 - blue",
	"java.lang.NullPointerException",
	"listening on :8080",
	"ok",
}

// CheckPatterns validates ignore and mask patterns before logs are collected: each must compile,
// stay within the size limits, and not match most records. Routes that take patterns from a caller
// call it to refuse them with a clear error; Judge calls it too.
func CheckPatterns(ignore, mask []string) error {
	_, err := compilePatterns("ignore", ignore)
	if err == nil {
		_, err = compilePatterns("mask", mask)
	}
	return err
}

func compilePatterns(what string, pats []string) ([]*regexp.Regexp, error) {
	if len(pats) > maxPatterns {
		return nil, fmt.Errorf("%d %s patterns: at most %d", len(pats), what, maxPatterns)
	}
	var out []*regexp.Regexp
	for _, p := range pats {
		if strings.TrimSpace(p) == "" {
			continue
		}
		if len(p) > maxPatternBytes {
			return nil, fmt.Errorf("%s pattern %.40q… is %d bytes: at most %d", what, p, len(p), maxPatternBytes)
		}
		if _, err := regexp.Compile(p); err != nil {
			return nil, fmt.Errorf("%s pattern %q is not a valid regular expression: %w", what, p, err)
		}
		re, err := regexp.Compile("(?i)" + p)
		if err != nil {
			return nil, fmt.Errorf("%s pattern %q: %w", what, p, err)
		}
		if err := refuseBroad(what, p, re); err != nil {
			return nil, err
		}
		out = append(out, re)
	}
	return out, nil
}

// refuseBroad rejects a pattern that matches the empty string or most ordinary log messages.
func refuseBroad(what, src string, re *regexp.Regexp) error {
	if re.MatchString("") {
		return fmt.Errorf("%s pattern %q matches an empty message, so it matches every record: name the text to %s (e.g. %s)", what, src, what, patternExample(what))
	}
	n := 0
	for _, p := range broadProbes {
		if re.MatchString(p) {
			n++
		}
	}
	if 5*n >= 4*len(broadProbes) {
		return fmt.Errorf("%s pattern %q matches %d of %d unrelated sample log messages, so it would %s most records: name the text to %s (e.g. %s)",
			what, src, n, len(broadProbes), what, what, patternExample(what))
	}
	return nil
}

func patternExample(what string) string {
	if what == "mask" {
		return `color=\w+`
	}
	return `legacy endpoint /v1/colors`
}

func patternSources(res []*regexp.Regexp) []string {
	out := make([]string, len(res))
	for i, re := range res {
		out[i] = strings.TrimPrefix(re.String(), "(?i)")
	}
	return out
}

// ignoreCount is how many records one ignore pattern dropped per side.
type ignoreCount struct {
	pattern                      string
	stable, canary               int
	stableSevere, canarySevere   int
	stableExample, canaryExample string
}

// dropIgnored removes the records an ignore pattern matches (the first matching pattern takes the
// record) and counts them per pattern.
func dropIgnored(rs []logmine.Record, ignores []*regexp.Regexp, counts []ignoreCount, canary bool) []logmine.Record {
	if len(ignores) == 0 {
		return rs
	}
	out := make([]logmine.Record, 0, len(rs))
	for _, r := range rs {
		i := matchIndex(ignores, r.Text)
		if i < 0 {
			out = append(out, r)
			continue
		}
		c := &counts[i]
		severe := isFailure(r)
		if canary {
			c.canary++
			if severe {
				c.canarySevere++
			}
			if c.canaryExample == "" {
				c.canaryExample = clip(r.Text, maxExampleBytes)
			}
		} else {
			c.stable++
			if severe {
				c.stableSevere++
			}
			if c.stableExample == "" {
				c.stableExample = clip(r.Text, maxExampleBytes)
			}
		}
	}
	return out
}

func matchIndex(res []*regexp.Regexp, s string) int {
	for i, re := range res {
		if re.MatchString(s) {
			return i
		}
	}
	return -1
}

// maskRecords replaces every mask match with MaskPlaceholder.
func maskRecords(rs []logmine.Record, masks []*regexp.Regexp) []logmine.Record {
	if len(masks) == 0 {
		return rs
	}
	out := make([]logmine.Record, len(rs))
	for i, r := range rs {
		for _, re := range masks {
			r.Text = re.ReplaceAllLiteralString(r.Text, MaskPlaceholder)
		}
		out[i] = r
	}
	return out
}

// ignoreEvidence reports what each ignore pattern dropped: never a finding, but visible.
func (a *analysis) ignoreEvidence() []Evidence {
	var ev []Evidence
	for _, c := range a.ignoreCounts {
		if c.stable+c.canary == 0 {
			continue
		}
		detail := fmt.Sprintf("ignore pattern %q dropped %d stable and %d canary records", c.pattern, c.stable, c.canary)
		if c.stableSevere+c.canarySevere > 0 {
			detail += fmt.Sprintf(" (%d and %d of them errors)", c.stableSevere, c.canarySevere)
		}
		var ex []string
		for _, s := range []string{c.canaryExample, c.stableExample} {
			if s != "" {
				ex = append(ex, s)
			}
		}
		ev = append(ev, Evidence{
			Kind: KindIgnored, Severity: SeverityIgnored, IgnoredBy: c.pattern, Detail: detail,
			Stable: &Side{Count: intPtr(c.stable)}, Canary: &Side{Count: intPtr(c.canary)},
			Examples: a.examples(ex), p: 1,
		})
	}
	return ev
}
