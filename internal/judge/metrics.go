package judge

import (
	"fmt"
	"math"
	"strings"

	"github.com/fixloop/fixloop/internal/judge/stats"
)

// metricsCheck judges each metric as Kayenta's NetflixACAJudge does: a two-sided Mann-Whitney U
// test at MetricConfidence (98%) and a Hodges-Lehmann shift beyond Tolerance x |stable median|,
// in the metric's bad direction. Two additions cover Kayenta's known blind spots:
//   - dispersion (kayenta#780): the same rank test on absolute deviations from each side's
//     median catches a variance increase with an unchanged median;
//   - sparse counts (kayenta#426): when stable is mostly zeros, Fisher's exact test on how often
//     a sample is non-zero catches errors that are rare but new.
//
// A failing critical metric is critical evidence, other failures warnings. Series with fewer than
// MinSamples finite values per side are reported as lacking data (the data check turns that into
// inconclusive); a series with no sample on either side is reported as not measured. NaN and Inf
// samples are dropped, never read as zero.
type metricsCheck struct{}

func (metricsCheck) name() string { return "metrics" }

func finiteValues(m *Metric) []float64 {
	if m == nil {
		return nil
	}
	out := make([]float64, 0, len(m.Values))
	for _, v := range m.Values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out = append(out, v)
		}
	}
	return out
}

func metricSide(xs []float64) *Side {
	s := &Side{Samples: intPtr(len(xs))}
	if len(xs) > 0 {
		s.Median = finite(stats.Median(xs))
		s.Mean = finite(stats.Mean(xs))
		s.P95 = finite(stats.Quantile(xs, 0.95))
	}
	return s
}

func (metricsCheck) run(a *analysis) []Evidence {
	var ev []Evidence
	for _, p := range a.metrics {
		ev = append(ev, judgeMetric(a, p))
	}
	for _, name := range a.unmeasured {
		ev = append(ev, Evidence{Kind: KindMetric, Metric: name, Severity: SeverityInfo, p: 1,
			Detail: "not measured: no sample on either side, so not compared"})
	}
	return ev
}

func judgeMetric(a *analysis, p metricPair) Evidence {
	def := p.canary
	if def == nil {
		def = p.stable
	}
	x, y := finiteValues(p.stable), finiteValues(p.canary)
	e := Evidence{Kind: KindMetric, Metric: p.name, Stable: metricSide(x), Canary: metricSide(y), Severity: SeverityInfo, p: 1}
	critical := (p.stable != nil && p.stable.Critical) || (p.canary != nil && p.canary.Critical)
	if len(x) < a.o.MinSamples || len(y) < a.o.MinSamples {
		e.Detail = fmt.Sprintf("not enough samples (stable %d, canary %d; need %d)", len(x), len(y), a.o.MinSamples)
		return e
	}
	dir, tol, floor := metricRule(a.o, def)
	alpha := 1 - a.o.MetricConfidence
	badSide := func(shift float64) bool {
		switch dir {
		case "decrease":
			return shift < 0
		case "either":
			return shift != 0
		}
		return shift > 0
	}
	medS := stats.Median(x)
	scale := math.Abs(medS)
	if dir == "decrease" && successRatio(x, y, medS) {
		// A success ratio (availability, hit ratio) is judged on what it fails: 99.9% -> 97% is
		// 0.1% -> 3% failures, a 30x change, not a 3% one.
		scale = 1 - medS
	}

	var failures []string
	pmin := 1.0

	// Location: Mann-Whitney + Hodges-Lehmann effect-size gate.
	mw := stats.MannWhitney(x, y, stats.TwoSided)
	hl := stats.HodgesLehmann(x, y)
	e.PValue = finite(mw.P)
	if scale > 0 {
		e.Ratio = finite(hl / scale)
	}
	if mw.P < alpha && badSide(hl) && math.Abs(hl) > tol*scale && math.Abs(hl) > floor {
		failures = append(failures, fmt.Sprintf("shifted %s by %s (Hodges-Lehmann; stable median %s, tolerance %.0f%%, Mann-Whitney p=%.2g)",
			upDown(hl), fmtNum(math.Abs(hl)), fmtNum(medS), 100*tol, mw.P))
		pmin = math.Min(pmin, mw.P)
	}

	// Dispersion: variance increase with an unchanged median.
	devS, devC := absDev(x), absDev(y)
	madS, madC := stats.Median(devS), stats.Median(devC)
	disp := stats.MannWhitney(devS, devC, stats.Greater)
	if disp.P < alpha && madC >= (1+2*tol)*madS && madC-madS > tol*scale && madC-madS > floor && madC > 0 {
		failures = append(failures, fmt.Sprintf("spread grew: median absolute deviation %s vs %s in stable (p=%.2g)", fmtNum(madC), fmtNum(madS), disp.P))
		pmin = math.Min(pmin, disp.P)
	}

	// Sparse counts: how often a sample is non-zero, when stable is mostly zero.
	if dir != "decrease" {
		if failure, fp, ok := sparseCountsGrew(x, y, alpha); ok {
			failures = append(failures, failure)
			pmin = math.Min(pmin, fp)
		}
	}

	if len(failures) == 0 {
		e.Detail = fmt.Sprintf("no significant %s (Mann-Whitney p=%.2g, Hodges-Lehmann shift %s)", dirWord(dir), mw.P, fmtNum(hl))
		return e
	}
	e.p = pmin
	e.PValue = finite(pmin)
	e.class = "metric:" + p.name
	e.Severity = SeverityWarning
	if critical {
		e.Severity = SeverityCritical
	}
	e.Detail = strings.Join(failures, "; ")
	return e
}

// metricRule is how a metric is judged: the direction that is bad (default increase), the relative
// tolerance (the metric's own, else the options') and the absolute minimum effect.
func metricRule(o Options, def *Metric) (dir string, tol, floor float64) {
	dir = strings.ToLower(def.Direction)
	if dir == "" {
		dir = "increase"
	}
	tol = o.Tolerance
	if def.Tolerance != nil && *def.Tolerance >= 0 {
		tol = *def.Tolerance
	}
	if def.MinEffect != nil && *def.MinEffect > 0 {
		floor = *def.MinEffect
	}
	return dir, tol, floor
}

// sparseCountsGrew reports canary samples being non-zero at least twice as often as stable's, when
// stable is mostly zero (Fisher's exact test at alpha).
func sparseCountsGrew(x, y []float64, alpha float64) (string, float64, bool) {
	nzS, nzC := nonZero(x), nonZero(y)
	if 2*nzS > len(x) {
		return "", 1, false
	}
	fp := stats.FisherExact(nzS, len(x), nzC, len(y), stats.Greater)
	fracS, fracC := float64(nzS)/float64(len(x)), float64(nzC)/float64(len(y))
	if fp < alpha && fracC >= 2*fracS {
		return fmt.Sprintf("non-zero in %d of %d canary samples vs %d of %d stable (Fisher p=%.2g)", nzC, len(y), nzS, len(x), fp), fp, true
	}
	return "", 1, false
}

// successRatio: every sample of both sides lies in [0, 1] and stable mostly succeeds (median at
// least 0.5), so the metric is a share whose complement is the failure share.
func successRatio(x, y []float64, medS float64) bool {
	if medS < 0.5 {
		return false
	}
	for _, xs := range [][]float64{x, y} {
		for _, v := range xs {
			if v < 0 || v > 1 {
				return false
			}
		}
	}
	return true
}

func absDev(xs []float64) []float64 {
	m := stats.Median(xs)
	out := make([]float64, len(xs))
	for i, v := range xs {
		out[i] = math.Abs(v - m)
	}
	return out
}

func nonZero(xs []float64) int {
	n := 0
	for _, v := range xs {
		if v != 0 {
			n++
		}
	}
	return n
}

func upDown(x float64) string {
	if x < 0 {
		return "down"
	}
	return "up"
}

func dirWord(dir string) string {
	switch dir {
	case "decrease":
		return "decrease"
	case "either":
		return "change"
	}
	return "increase"
}

func fmtNum(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%.4g", x)
}
