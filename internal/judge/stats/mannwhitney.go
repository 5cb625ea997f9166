package stats

import (
	"math"
	"sort"
)

// MWResult is the outcome of a Mann-Whitney U test of y (canary) against x (stable).
type MWResult struct {
	U     float64 // U statistic of y: number of pairs with y > x, ties counting one half
	P     float64 // p-value for the requested alternative
	Exact bool    // exact permutation distribution used (small samples, ties included)
}

// exactLimit bounds the sample sizes for which the exact null distribution is enumerated.
const exactLimit = 20

// MannWhitney runs the Mann-Whitney U (Wilcoxon rank-sum) test. Ties get mid-ranks. Small
// samples use the exact permutation distribution of the mid-rank sum (valid with ties, where the
// normal approximation is poor: sparse error counts are mostly zeros); larger ones the normal
// approximation with tie-corrected variance and continuity correction.
func MannWhitney(x, y []float64, alt Alternative) MWResult {
	n1, n2 := len(x), len(y)
	if n1 == 0 || n2 == 0 {
		return MWResult{P: 1}
	}
	type obs struct {
		v     float64
		fromY bool
	}
	all := make([]obs, 0, n1+n2)
	for _, v := range x {
		all = append(all, obs{v, false})
	}
	for _, v := range y {
		all = append(all, obs{v, true})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	var rankSumY, tieTerm float64
	ranks2 := make([]int, 0, len(all)) // doubled mid-ranks, for the exact distribution
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		t := float64(j - i)
		if t > 1 {
			tieTerm += t*t*t - t
		}
		mid := float64(i+j+1) / 2 // ranks are 1-based: i+1..j
		for k := i; k < j; k++ {
			ranks2 = append(ranks2, i+j+1)
			if all[k].fromY {
				rankSumY += mid
			}
		}
		i = j
	}
	u := rankSumY - float64(n2*(n2+1))/2
	fn1, fn2 := float64(n1), float64(n2)
	if n1 <= exactLimit && n2 <= exactLimit {
		scores := make([]int, len(ranks2))
		copy(scores, ranks2)
		return MWResult{U: u, P: exactRankSumP(scores, n2, int(math.Round(2*rankSumY)), alt), Exact: true}
	}
	n := fn1 + fn2
	mu := fn1 * fn2 / 2
	sigma2 := fn1 * fn2 / 12 * ((n + 1) - tieTerm/(n*(n-1)))
	if sigma2 <= 0 {
		return MWResult{U: u, P: 1}
	}
	sigma := math.Sqrt(sigma2)
	var p float64
	switch alt {
	case Greater:
		p = NormalSF((u - mu - 0.5) / sigma)
	case Less:
		p = NormalSF((mu - u - 0.5) / sigma)
	default:
		p = 2 * NormalSF((math.Abs(u-mu)-0.5)/sigma)
	}
	return MWResult{U: u, P: clamp01(p)}
}

// exactRankSumP is the exact permutation p-value of the canary's rank sum. scores are the
// doubled mid-ranks of the pooled sample (integers, ties included); obs is the observed doubled
// rank sum of the n2 canary values. dp[k][s] counts the subsets of size k with score sum s.
func exactRankSumP(scores []int, n2, obs int, alt Alternative) float64 {
	maxSum := 0
	for _, s := range scores {
		maxSum += s
	}
	dp := make([][]float64, n2+1)
	for k := range dp {
		dp[k] = make([]float64, maxSum+1)
	}
	dp[0][0] = 1
	for _, sc := range scores {
		for k := n2; k >= 1; k-- {
			row, prev := dp[k], dp[k-1]
			for s := maxSum; s >= sc; s-- {
				row[s] += prev[s-sc]
			}
		}
	}
	N := len(scores)
	mean2 := float64(n2 * (N + 1)) // doubled mean rank sum
	var total, le, ge, two float64
	dev := math.Abs(float64(obs) - mean2)
	for s, c := range dp[n2] {
		if c == 0 {
			continue
		}
		total += c
		if s <= obs {
			le += c
		}
		if s >= obs {
			ge += c
		}
		if math.Abs(float64(s)-mean2) >= dev-1e-9 {
			two += c
		}
	}
	switch alt {
	case Greater:
		return clamp01(ge / total)
	case Less:
		return clamp01(le / total)
	}
	return clamp01(two / total)
}
