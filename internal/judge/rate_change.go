package judge

import (
	"fmt"
	"math"

	"github.com/fixloop/fixloop/internal/judge/stats"
)

// rateChangeCheck compares the rate of every template present on both sides, normalised by each
// side's exposure, with the exact conditional binomial (Poisson rate-ratio) test and a Holm
// correction across templates. A change counts when it is significant AND large: the rate ratio
// passes MinRateRatio and the canary count differs from its expectation by at least MinExcess.
// Severe templates that increase are critical, warn-level ones warnings, the rest information;
// severe templates at an unchanged rate are reported as pre-existing (info).
type rateChangeCheck struct{}

func (rateChangeCheck) name() string { return "rate_change" }

func (rateChangeCheck) run(a *analysis) []Evidence {
	if a.stableExposure <= 0 || a.canaryExposure <= 0 {
		return nil
	}
	var both []*templateStat
	var ps []float64
	for _, t := range a.templates {
		if t.stable.count == 0 || t.canary.count == 0 {
			continue
		}
		p, _ := stats.RateRatioTest(t.stable.count, t.canary.count, a.stableExposure, a.canaryExposure, stats.TwoSided)
		both = append(both, t)
		ps = append(ps, p)
	}
	adj := stats.Holm(ps)
	var ev []Evidence
	for i, t := range both {
		_, ratio := stats.RateRatioTest(t.stable.count, t.canary.count, a.stableExposure, a.canaryExposure, stats.TwoSided)
		expected := float64(t.stable.count) * a.canaryExposure / a.stableExposure
		excess := float64(t.canary.count) - expected
		significant := adj[i] < a.o.Alpha && math.Abs(excess) >= a.o.MinExcess
		up := significant && ratio >= a.o.MinRateRatio
		down := significant && ratio <= 1/a.o.MinRateRatio
		severe := t.canary.severe > 0 || t.canary.failed > 0
		if !up && !down && !severe {
			continue
		}
		e := Evidence{
			Kind:     KindRateChange,
			Template: a.o.Redactor.String(t.pattern),
			Stable:   a.templateSide(t.stable, a.stableExposure),
			Canary:   a.templateSide(t.canary, a.canaryExposure),
			Examples: a.examples(t.canary.examples),
			PValue:   finite(adj[i]),
			Ratio:    finite(ratio),
			severe:   severe,
			p:        adj[i],
		}
		switch {
		case up && severe:
			e.Severity = SeverityCritical
			e.class = classify(append([]string{t.pattern}, t.canary.examples...)...)
			if t.canary.severe == 0 {
				e.class = "http_5xx" // failing only by its status
			}
			e.Detail = fmt.Sprintf("severe %s event %.1fx more frequent in canary (%d vs ~%.1f expected, adjusted p=%.2g)", className(e.class), ratio, t.canary.count, expected, adj[i])
		case up && t.canary.level == "warn":
			e.Severity = SeverityWarning
			e.Detail = fmt.Sprintf("warning %.1fx more frequent in canary (%d vs ~%.1f expected, adjusted p=%.2g)", ratio, t.canary.count, expected, adj[i])
		case up:
			e.Severity = SeverityInfo
			e.Detail = fmt.Sprintf("%s line %.1fx more frequent in canary (%d vs ~%.1f expected)", levelOr(t.canary.level, "log"), ratio, t.canary.count, expected)
		case down:
			e.Severity = SeverityInfo
			e.Detail = fmt.Sprintf("%s line %.2fx as frequent in canary (%d vs ~%.1f expected)", levelOr(t.canary.level, "log"), ratio, t.canary.count, expected)
		case adj[i] < a.o.Alpha && ratio > 1:
			e.Severity = SeverityInfo
			e.Detail = fmt.Sprintf("pre-existing error somewhat more frequent in canary (ratio %.2f, below the %.1fx effect-size gate)", ratio, a.o.MinRateRatio)
		default: // severe, rate unchanged
			e.Severity = SeverityInfo
			e.Detail = fmt.Sprintf("pre-existing error at a similar rate (ratio %.2f, %d in canary vs ~%.1f expected)", ratio, t.canary.count, expected)
		}
		ev = append(ev, e)
	}
	return ev
}
