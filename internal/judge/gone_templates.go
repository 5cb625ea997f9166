package judge

import (
	"fmt"

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
		default:
			e.Severity = SeverityInfo
			e.Detail = fmt.Sprintf("event not seen in canary: %d in stable, ~%.1f expected", t.stable.count, expected)
		}
		ev = append(ev, e)
	}
	return ev
}
