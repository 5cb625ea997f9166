package judge

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/fixloop/fixloop/internal/judge/stats"
)

// A release that changes a value in a line (the colour blue → green, a version string) makes the
// stable template vanish from the canary and a new one appear. When the new one has the same
// shape — same token count, a few constant tokens differ, same level, no failure on either side,
// no failure word among the new tokens, a comparable rate — both are one event that changed:
// informational. A change that raises severity (info → error, 200 → 5xx, a new exception class)
// never pairs, so it still counts as before.

// pairChanged links gone templates to their same-shaped replacements, greedily: the most frequent
// gone template first, each taking the candidate with the fewest differing tokens, then the
// closest rate.
func (a *analysis) pairChanged() {
	if a.stableExposure <= 0 || a.canaryExposure <= 0 {
		return
	}
	var gone, fresh []*templateStat
	for _, t := range a.templates {
		switch {
		case t.canary.count == 0 && t.stable.count > 0 && benignSide(t.stable):
			gone = append(gone, t)
		case t.stable.count == 0 && t.canary.count > 0 && benignSide(t.canary):
			fresh = append(fresh, t)
		}
	}
	sort.SliceStable(gone, func(i, j int) bool { return gone[i].stable.count > gone[j].stable.count })
	for _, g := range gone {
		var best *templateStat
		bestDiff, bestDist := 0, math.Inf(1)
		for _, n := range fresh {
			if n.changed != nil || n.level != g.level {
				continue
			}
			diff, ok := sameShape(g.pattern, n.pattern)
			if !ok || !a.comparableRate(g.stable.count, n.canary.count) {
				continue
			}
			dist := math.Abs(math.Log(a.rateRatio(g.stable.count, n.canary.count)))
			if best == nil || diff < bestDiff || (diff == bestDiff && dist < bestDist) {
				best, bestDiff, bestDist = n, diff, dist
			}
		}
		if best != nil {
			g.changed, best.changed = best, g
		}
	}
}

// benignSide: a side with no failure records and no stack trace.
func benignSide(s sideStat) bool { return s.severe == 0 && s.failed == 0 }

// sameShape reports whether two single-line patterns have the same token count and differ in a
// few tokens (at most a third, at least one), none of the new ones a failure word.
func sameShape(old, new string) (int, bool) {
	if strings.Contains(old, "\n") || strings.Contains(new, "\n") {
		return 0, false
	}
	a, b := strings.Fields(old), strings.Fields(new)
	if len(a) != len(b) || len(a) < 2 {
		return 0, false
	}
	diff := 0
	for i := range a {
		if a[i] == b[i] {
			continue
		}
		if hasFailureWord(b[i]) && !hasFailureWord(a[i]) {
			return 0, false
		}
		diff++
	}
	return diff, diff >= 1 && diff <= max(1, len(a)/3)
}

// failureWords are stems that turn a changed token into a worse outcome ("saved" → "failed").
var failureWords = []string{"fail", "error", "exception", "denied", "refused", "timeout", "timed",
	"unavailable", "invalid", "abort", "reject", "panic", "fatal", "crash", "unable", "cannot", "missing",
	"lost", "broken", "forbidden", "unauthorized", "violation", "overflow", "deadlock", "corrupt", "retry", "5xx",
	"skip", "drop", "discard", "declin", "cancel", "degrad", "fallback", "stale", "partial", "null",
	"undefined", "unknown", "dead", "evict", "throttl", "overload", "expired", "mismatch",
	"conflict", "leak", "slow", "warn", "empty"}

func hasFailureWord(tok string) bool {
	t := strings.ToLower(tok)
	for _, w := range failureWords {
		if strings.Contains(t, w) {
			return true
		}
	}
	return false
}

func (a *analysis) rateRatio(stableCount, canaryCount int) float64 {
	_, r := stats.RateRatioTest(stableCount, canaryCount, a.stableExposure, a.canaryExposure, stats.TwoSided)
	if r <= 0 || math.IsInf(r, 0) || math.IsNaN(r) {
		return math.Inf(1)
	}
	return r
}

// comparableRate: the rates differ by less than the effect-size gate, or not significantly.
func (a *analysis) comparableRate(stableCount, canaryCount int) bool {
	p, r := stats.RateRatioTest(stableCount, canaryCount, a.stableExposure, a.canaryExposure, stats.TwoSided)
	if p >= a.o.Alpha {
		return true
	}
	return r < a.o.MinRateRatio && r > 1/a.o.MinRateRatio
}

// changedTemplatesCheck reports each pair as one informational changed_template.
type changedTemplatesCheck struct{}

func (changedTemplatesCheck) name() string { return "changed_templates" }

func (changedTemplatesCheck) run(a *analysis) []Evidence {
	var ev []Evidence
	for _, g := range a.templates {
		n := g.changed
		if n == nil || g.stable.count == 0 {
			continue // pairs are reported once, from their stable side
		}
		from, to := changedTokens(g.pattern, n.pattern)
		p, ratio := stats.RateRatioTest(g.stable.count, n.canary.count, a.stableExposure, a.canaryExposure, stats.TwoSided)
		ev = append(ev, Evidence{
			Kind:     KindChangedTemplate,
			Template: a.o.Redactor.String(n.pattern),
			Stable:   a.templateSide(g.stable, a.stableExposure),
			Canary:   a.templateSide(n.canary, a.canaryExposure),
			Examples: a.examples(append(append([]string{}, n.canary.examples[:min(1, len(n.canary.examples))]...), g.stable.examples[:min(1, len(g.stable.examples))]...)),
			PValue:   finite(p),
			Ratio:    finite(ratio),
			Severity: SeverityInfo,
			Detail:   a.o.Redactor.String(fmt.Sprintf("%s → %s: the same event with a changed value (%d in stable, %d in canary)", from, to, g.stable.count, n.canary.count)),
			p:        1,
		})
	}
	return ev
}

// changedTokens renders the differing tokens as "`blue` → `green`" parts.
func changedTokens(old, new string) (string, string) {
	a, b := strings.Fields(old), strings.Fields(new)
	var from, to []string
	for i := range a {
		if i < len(b) && a[i] != b[i] {
			from, to = append(from, "`"+a[i]+"`"), append(to, "`"+b[i]+"`")
		}
	}
	return strings.Join(from, " "), strings.Join(to, " ")
}
