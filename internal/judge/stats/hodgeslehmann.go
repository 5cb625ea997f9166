package stats

import (
	"math"
	"math/rand/v2"
	"slices"
)

// HodgesLehmann is the median of all pairwise differences y_j - x_i: the shift of y relative
// to x that the Mann-Whitney test is about.
func HodgesLehmann(x, y []float64) float64 {
	if len(x) == 0 || len(y) == 0 {
		return math.NaN()
	}
	// Bound the work on long series: a deterministic stride sample of 2,000 per side. The
	// median of those 4e6 differences is then selected exactly without listing them.
	x, y = thin(x, 2000), thin(y, 2000)
	if !allFinite(x) || !allFinite(y) {
		return hodgesLehmannSorted(x, y) // NaN/Inf order as sort.Float64s does only there
	}
	a := slices.Clone(y)
	slices.Sort(a)
	b := slices.Clone(x)
	slices.Sort(b)
	slices.Reverse(b) // row j of a[j]-b[i] now rises with i, and every column rises with j
	n := len(a) * len(b)
	pos := 0.5 * float64(n-1)
	i := int(math.Floor(pos))
	lo := kthPairDiff(a, b, i)
	if i >= n-1 {
		return lo
	}
	hi := kthPairDiff(a, b, i+1)
	return lo + (pos-float64(i))*(hi-lo) // the same interpolation as quantileSorted
}

// hodgesLehmannSorted lists and sorts every difference: the reference the selection matches.
func hodgesLehmannSorted(x, y []float64) float64 {
	d := make([]float64, 0, len(x)*len(y))
	for _, yi := range y {
		for _, xi := range x {
			d = append(d, yi-xi)
		}
	}
	slices.Sort(d)
	return quantileSorted(d, 0.5)
}

func allFinite(xs []float64) bool {
	for _, v := range xs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// kthPairDiff is the k-th smallest (0-based) of a[j]-b[i] over all pairs, with a ascending and
// b descending. It keeps, per row, the columns [lo[j], hi[j]) that may still hold the answer,
// and narrows them around a pivot drawn from that region: each round costs O(len(a)+len(b)),
// and a random pivot discards a constant share of the region on average (Monahan, 1984). The
// seed is fixed so a verdict never depends on the draw; the result is exact whatever it is.
func kthPairDiff(a, b []float64, k int) float64 {
	rows, cols := len(a), len(b)
	lo, hi := make([]int, rows), make([]int, rows)
	for j := range hi {
		hi[j] = cols
	}
	lt, le := make([]int, rows), make([]int, rows)
	rng := rand.New(rand.NewPCG(1, 2))
	for {
		active := 0
		for j := range rows {
			active += hi[j] - lo[j]
		}
		if active <= 4*(rows+cols) {
			return smallestInRegion(a, b, lo, hi, k)
		}
		p := pickInRegion(a, b, lo, hi, rng.IntN(active))
		countBelow(a, b, p, lt, le)
		nLt, nLe := sum(lt), sum(le)
		switch {
		case k < nLt:
			for j := range rows {
				hi[j] = min(hi[j], lt[j])
			}
		case k < nLe:
			return p
		default:
			for j := range rows {
				lo[j] = max(lo[j], le[j])
			}
		}
	}
}

// countBelow sets lt[j] / le[j] to how many of row j's differences are < p / <= p. Rows rise
// with j, so both counts only fall as j grows: one sweep per count.
func countBelow(a, b []float64, p float64, lt, le []int) {
	cLt, cLe := len(b), len(b)
	for j, aj := range a {
		for cLt > 0 && aj-b[cLt-1] >= p {
			cLt--
		}
		for cLe > 0 && aj-b[cLe-1] > p {
			cLe--
		}
		lt[j], le[j] = cLt, cLe
	}
}

func pickInRegion(a, b []float64, lo, hi []int, r int) float64 {
	for j := range a {
		w := hi[j] - lo[j]
		if r < w {
			return a[j] - b[lo[j]+r]
		}
		r -= w
	}
	return math.NaN() // unreachable: r is below the region's size
}

// smallestInRegion lists the few differences left: everything left of lo is smaller than
// all of them, so the answer's rank among them is k minus that count.
func smallestInRegion(a, b []float64, lo, hi []int, k int) float64 {
	var d []float64
	below := 0
	for j := range a {
		below += lo[j]
		for i := lo[j]; i < hi[j]; i++ {
			d = append(d, a[j]-b[i])
		}
	}
	slices.Sort(d)
	return d[k-below]
}

func sum(xs []int) int {
	s := 0
	for _, v := range xs {
		s += v
	}
	return s
}
