// Package stats holds the small, dependency-free statistics the canary judge uses: the exact
// conditional binomial (Poisson rate-ratio) test, Fisher's exact test, the Mann-Whitney U test,
// the Hodges-Lehmann estimator and the Holm multiple-comparison correction.
package stats

import (
	"math"
	"sort"
)

// Alternative is the side of a hypothesis test.
type Alternative int

const (
	TwoSided Alternative = iota
	Greater              // the second (canary) sample is larger
	Less                 // the second (canary) sample is smaller
)

// NormalSF is P(Z > z) for a standard normal Z.
func NormalSF(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }

// lbeta is log B(a, b).
func lbeta(a, b float64) float64 {
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	return la + lb - lab
}

// RegIncBeta is the regularised incomplete beta function I_x(a, b), evaluated with the
// continued fraction (modified Lentz), using the symmetry relation where it converges faster.
func RegIncBeta(x, a, b float64) float64 {
	switch {
	case math.IsNaN(x) || a <= 0 || b <= 0:
		return math.NaN()
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	front := math.Exp(a*math.Log(x) + b*math.Log1p(-x) - lbeta(a, b))
	if x > (a+1)/(a+b+2) {
		return 1 - front*betaCF(1-x, b, a)/b
	}
	return front * betaCF(x, a, b) / a
}

func betaCF(x, a, b float64) float64 {
	const tiny = 1e-300
	const eps = 1e-15
	c, d := 1.0, 1-(a+b)*x/(a+1)
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= 10000; m++ {
		fm := float64(m)
		num := fm * (b - fm) * x / ((a + 2*fm - 1) * (a + 2*fm))
		d = 1 + num*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + num/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		num = -(a + fm) * (a + b + fm) * x / ((a + 2*fm) * (a + 2*fm + 1))
		d = 1 + num*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + num/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		delta := d * c
		h *= delta
		if math.Abs(delta-1) < eps {
			break
		}
	}
	return h
}

// BinomUpper is P(X >= k) for X ~ Binomial(n, p).
func BinomUpper(k, n int, p float64) float64 {
	if k <= 0 {
		return 1
	}
	if k > n {
		return 0
	}
	return RegIncBeta(p, float64(k), float64(n-k+1))
}

// BinomLower is P(X <= k) for X ~ Binomial(n, p).
func BinomLower(k, n int, p float64) float64 {
	if k < 0 {
		return 0
	}
	if k >= n {
		return 1
	}
	return 1 - BinomUpper(k+1, n, p)
}

// RateRatioTest tests whether the canary event rate differs from the stable one, given event
// counts and exposures (requests or records) on each side. Conditional on the total count, the
// canary count is Binomial(total, canaryExposure/(stableExposure+canaryExposure)) under equal
// rates (the exact Poisson rate-ratio test). It returns the p-value and the rate ratio
// canary/stable (+Inf when the stable count is zero and the canary count is not).
func RateRatioTest(stableCount, canaryCount int, stableExposure, canaryExposure float64, alt Alternative) (p, ratio float64) {
	if stableExposure <= 0 || canaryExposure <= 0 || stableCount < 0 || canaryCount < 0 {
		return 1, math.NaN()
	}
	n := stableCount + canaryCount
	if n == 0 {
		return 1, 1
	}
	p0 := canaryExposure / (stableExposure + canaryExposure)
	switch {
	case stableCount == 0:
		ratio = math.Inf(1)
	default:
		ratio = (float64(canaryCount) / canaryExposure) / (float64(stableCount) / stableExposure)
	}
	up := BinomUpper(canaryCount, n, p0)
	lo := BinomLower(canaryCount, n, p0)
	switch alt {
	case Greater:
		return clamp01(up), ratio
	case Less:
		return clamp01(lo), ratio
	}
	return clamp01(2 * math.Min(up, lo)), ratio
}

func clamp01(p float64) float64 {
	if math.IsNaN(p) {
		return 1
	}
	return math.Max(0, math.Min(1, p))
}

// FisherExact is Fisher's exact test on the 2x2 table
//
//	stable: a hits of n1,  canary: b hits of n2
//
// with the alternative stated for the canary hit proportion.
func FisherExact(a, n1, b, n2 int, alt Alternative) float64 {
	if n1 <= 0 || n2 <= 0 {
		return 1
	}
	k := a + b // total hits
	N := n1 + n2
	lchoose := func(n, r int) float64 {
		if r < 0 || r > n {
			return math.Inf(-1)
		}
		x, _ := math.Lgamma(float64(n + 1))
		y, _ := math.Lgamma(float64(r + 1))
		z, _ := math.Lgamma(float64(n - r + 1))
		return x - y - z
	}
	denom := lchoose(N, k)
	prob := func(bb int) float64 { return math.Exp(lchoose(n2, bb) + lchoose(n1, k-bb) - denom) }
	lo, hi := max(0, k-n1), min(k, n2)
	obs := prob(b)
	var p float64
	for bb := lo; bb <= hi; bb++ {
		pb := prob(bb)
		switch alt {
		case Greater:
			if bb >= b {
				p += pb
			}
		case Less:
			if bb <= b {
				p += pb
			}
		default:
			if pb <= obs*(1+1e-7) {
				p += pb
			}
		}
	}
	return clamp01(p)
}

// Holm adjusts p-values for multiple comparisons (Holm-Bonferroni, family-wise error rate),
// returning adjusted values in the input order.
func Holm(ps []float64) []float64 {
	m := len(ps)
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return ps[idx[i]] < ps[idx[j]] })
	out := make([]float64, m)
	running := 0.0
	for rank, i := range idx {
		adj := math.Min(1, float64(m-rank)*ps[i])
		running = math.Max(running, adj)
		out[i] = running
	}
	return out
}

// Median of xs (NaN when empty). xs is not modified.
func Median(xs []float64) float64 { return Quantile(xs, 0.5) }

// Quantile with linear interpolation between order statistics (NaN when empty).
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return quantileSorted(s, q)
}

// quantileSorted is Quantile of s, already sorted.
func quantileSorted(s []float64, q float64) float64 {
	pos := q * float64(len(s)-1)
	i := int(math.Floor(pos))
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	f := pos - float64(i)
	return s[i] + f*(s[i+1]-s[i])
}

// Mean of xs (NaN when empty).
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func thin(xs []float64, n int) []float64 {
	if len(xs) <= n {
		return xs
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	out := make([]float64, n)
	for i := range out {
		out[i] = s[i*len(s)/n]
	}
	return out
}
