package judge

import (
	"fmt"
	"strings"

	"github.com/fixloop/fixloop/internal/judge/stats"
)

// goneTemplatesCheck finds templates that stable logs and canary never does. When the canary
// should have logged it many times (expected count >= goneMinExpected given its traffic) and the
// absence is significant, a regular event vanishing is a warning (the canary stopped doing
// something, or logs something else instead); a stable error disappearing is good news (info).
type goneTemplatesCheck struct{}

const goneMinExpected = 10

func (goneTemplatesCheck) name() string { return "gone_templates" }

func (goneTemplatesCheck) run(a *analysis) []Evidence {
	var ev []Evidence
	if len(a.in.Canary) == 0 || a.stableExposure <= 0 {
		return nil // no canary logs at all is the data check's finding
	}
	for _, t := range a.templates {
		if t.canary.count > 0 || t.stable.count == 0 || t.changed != nil {
			continue
		}
		expected := float64(t.stable.count) * a.canaryExposure / a.stableExposure
		p, _ := stats.RateRatioTest(t.stable.count, 0, a.stableExposure, a.canaryExposure, stats.Less)
		if expected < goneMinExpected && t.stable.severe == 0 && t.stable.failed == 0 {
			continue // rare lines missing from a short window say nothing
		}
		e := Evidence{
			Kind:     KindGoneTemplate,
			Template: a.o.Redactor.String(t.pattern),
			Stable:   a.templateSide(t.stable, a.stableExposure),
			Canary:   a.templateSide(t.canary, a.canaryExposure),
			Examples: a.examples(t.stable.examples),
			PValue:   finite(p),
			Ratio:    finite(0),
			p:        p,
		}
		switch {
		case t.stable.severe > 0 || t.stable.failed > 0:
			e.Severity = SeverityInfo
			e.Detail = fmt.Sprintf("stable error absent in canary (%d in stable, ~%.1f expected in canary)", t.stable.count, expected)
		case p < a.o.Alpha && expected >= goneMinExpected:
			e.Severity = SeverityWarning
			e.Detail = fmt.Sprintf("regular event missing in canary: %d in stable, ~%.0f expected in canary, 0 seen (p=%.2g)", t.stable.count, expected, p)
			if n := a.withDuration(t); n != nil {
				// rollouts-demo's LATENCY: "200 - blue" becomes "200 - blue (2.000000s)".
				e.Detail += fmt.Sprintf("; the canary logs it with a duration instead (%q, median %s s over %d lines)",
					a.o.Redactor.String(n.pattern), fmtNum(stats.Median(n.canary.durs)), len(n.canary.durs))
				e.class = "metric:latency"
			}
		default:
			e.Severity = SeverityInfo
			e.Detail = fmt.Sprintf("event not seen in canary: %d in stable, ~%.1f expected", t.stable.count, expected)
		}
		ev = append(ev, e)
	}
	return ev
}

// withDuration finds the canary-only template that is t's line plus one duration token: the new
// version reports a duration where the old one reported none.
func (a *analysis) withDuration(t *templateStat) *templateStat {
	old := strings.Fields(t.pattern)
	for _, n := range a.templates {
		if n.stable.count > 0 || n.canary.count == 0 || n.changed != nil || len(n.canary.durs) < n.canary.count/2 {
			continue
		}
		if oneTokenAdded(old, strings.Fields(n.pattern)) {
			return n
		}
	}
	return nil
}

func oneTokenAdded(old, new []string) bool {
	if len(new) != len(old)+1 {
		return false
	}
	i := 0
	for i < len(old) && old[i] == new[i] {
		i++
	}
	for ; i < len(old); i++ {
		if old[i] != new[i+1] {
			return false
		}
	}
	return true
}
