package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

func binomPMF(k, n int, p float64) float64 {
	lc, _ := math.Lgamma(float64(n + 1))
	a, _ := math.Lgamma(float64(k + 1))
	b, _ := math.Lgamma(float64(n - k + 1))
	return math.Exp(lc - a - b + float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p))
}

func TestBinomTailsMatchDirectSums(t *testing.T) {
	for _, tc := range []struct {
		n int
		p float64
	}{{1, 0.2}, {10, 0.2}, {37, 0.5}, {200, 0.05}, {1000, 0.8}} {
		for k := 0; k <= tc.n; k += max(1, tc.n/17) {
			var up float64
			for j := k; j <= tc.n; j++ {
				up += binomPMF(j, tc.n, tc.p)
			}
			if got := BinomUpper(k, tc.n, tc.p); math.Abs(got-up) > 1e-9*math.Max(1, up) && math.Abs(got-up) > 1e-12 {
				t.Errorf("BinomUpper(%d,%d,%g) = %g, want %g", k, tc.n, tc.p, got, up)
			}
			lo := 1 - up + binomPMF(k, tc.n, tc.p)
			if got := BinomLower(k, tc.n, tc.p); math.Abs(got-lo) > 1e-9 {
				t.Errorf("BinomLower(%d,%d,%g) = %g, want %g", k, tc.n, tc.p, got, lo)
			}
		}
	}
}

func TestRateRatioTest(t *testing.T) {
	tests := []struct {
		name           string
		a, b           int
		ea, eb         float64
		alt            Alternative
		wantSignif     bool // p < 0.01
		wantRatioAbove float64
	}{
		// Canary at 20% traffic with the same per-request rate is not a drop.
		{"same rate at 20% traffic", 800, 200, 4000, 1000, TwoSided, false, 0.9},
		{"fourfold increase", 100, 100, 4000, 1000, Greater, true, 3.9},
		{"new in canary, stable has 4x exposure", 0, 5, 4000, 1000, Greater, true, math.Inf(1)},
		{"one new line is not significant", 0, 1, 1000, 1000, Greater, false, math.Inf(1)},
		{"drop to zero", 400, 0, 4000, 1000, Less, true, 0},
		{"no events", 0, 0, 10, 10, TwoSided, false, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, r := RateRatioTest(tc.a, tc.b, tc.ea, tc.eb, tc.alt)
			if (p < 0.01) != tc.wantSignif {
				t.Errorf("p = %g, want significant=%v", p, tc.wantSignif)
			}
			if r < tc.wantRatioAbove {
				t.Errorf("ratio = %g, want >= %g", r, tc.wantRatioAbove)
			}
		})
	}
	// Exact value: 5 of 5 events in canary with p0 = 0.2 → 0.2^5.
	if p, _ := RateRatioTest(0, 5, 4000, 1000, Greater); math.Abs(p-0.00032) > 1e-12 {
		t.Errorf("p = %g, want 0.00032", p)
	}
}

func TestFisherExact(t *testing.T) {
	// 0/30 vs 6/30: one-sided p = C(30,6)/C(60,6).
	want := 593775.0 / 50063860.0
	if got := FisherExact(0, 30, 6, 30, Greater); math.Abs(got-want) > 1e-9 {
		t.Errorf("greater = %g, want %g", got, want)
	}
	if got := FisherExact(3, 30, 3, 30, TwoSided); got < 0.99 {
		t.Errorf("equal tables two-sided = %g, want 1", got)
	}
	if got := FisherExact(0, 30, 6, 30, Less); got < 0.99 {
		t.Errorf("less = %g, want ~1", got)
	}
}

func TestHolm(t *testing.T) {
	got := Holm([]float64{0.01, 0.04, 0.03})
	want := []float64{0.03, 0.06, 0.06}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("Holm = %v, want %v", got, want)
		}
	}
}

func TestHodgesLehmannAndQuantiles(t *testing.T) {
	if got := HodgesLehmann([]float64{1, 2, 3}, []float64{4, 5, 6}); got != 3 {
		t.Errorf("HL = %g, want 3", got)
	}
	if got := Median([]float64{5, 1, 3, 2}); got != 2.5 {
		t.Errorf("median = %g", got)
	}
	if !math.IsNaN(Mean(nil)) || !math.IsNaN(HodgesLehmann(nil, []float64{1})) {
		t.Error("empty input must give NaN")
	}
}

// permutationP enumerates every split of the pooled sample: the exact p-value, ties included.
func permutationP(x, y []float64, alt Alternative) float64 {
	pool := append(append([]float64(nil), x...), y...)
	n, n2 := len(pool), len(y)
	ustat := func(ys, xs []float64) float64 {
		var u float64
		for _, a := range ys {
			for _, b := range xs {
				switch {
				case a > b:
					u++
				case a == b:
					u += 0.5
				}
			}
		}
		return u
	}
	obs := ustat(y, x)
	mu := float64(len(x)*n2) / 2
	var hit, total float64
	var rec func(start int, chosen []int)
	rec = func(start int, chosen []int) {
		if len(chosen) == n2 {
			in := make(map[int]bool, n2)
			var ys, xs []float64
			for _, c := range chosen {
				in[c] = true
				ys = append(ys, pool[c])
			}
			for i := range pool {
				if !in[i] {
					xs = append(xs, pool[i])
				}
			}
			u := ustat(ys, xs)
			total++
			switch alt {
			case Greater:
				if u >= obs-1e-9 {
					hit++
				}
			case Less:
				if u <= obs+1e-9 {
					hit++
				}
			default:
				if math.Abs(u-mu) >= math.Abs(obs-mu)-1e-9 {
					hit++
				}
			}
			return
		}
		for i := start; i < n; i++ {
			rec(i+1, append(chosen, i))
		}
	}
	rec(0, nil)
	return hit / total
}

func TestMannWhitney(t *testing.T) {
	tests := []struct {
		name      string
		x, y      []float64
		alt       Alternative
		exact     bool
		tolerance float64
	}{
		{"separated, exact", []float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10}, Greater, true, 1e-12},
		{"interleaved, exact two-sided", []float64{1, 4, 6, 9, 12}, []float64{2, 3, 8, 10, 11, 13}, TwoSided, true, 1e-12},
		{"less, exact", []float64{10, 11, 12, 13}, []float64{1, 2, 11.5, 3}, Less, true, 1e-12},
		{"ties, exact", []float64{1, 2, 2, 3, 3, 3, 4, 5}, []float64{3, 4, 4, 5, 5, 6, 6, 7}, Greater, true, 1e-9},
		{"many zeros, exact", []float64{0, 0, 0, 0, 0, 0, 0, 1}, []float64{0, 0, 1, 2, 0, 3, 1, 0}, Greater, true, 1e-9},
		{"many zeros, two-sided", []float64{0, 0, 0, 0, 0, 0, 0, 1}, []float64{0, 0, 1, 2, 0, 3, 1, 0}, TwoSided, true, 1e-9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := MannWhitney(tc.x, tc.y, tc.alt)
			if got.Exact != tc.exact {
				t.Errorf("exact = %v, want %v", got.Exact, tc.exact)
			}
			want := permutationP(tc.x, tc.y, tc.alt)
			if math.Abs(got.P-want) > tc.tolerance {
				t.Errorf("p = %g, permutation p = %g", got.P, want)
			}
		})
	}
	if got := MannWhitney([]float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10}, Greater); math.Abs(got.P-1.0/252) > 1e-12 || got.U != 25 {
		t.Errorf("got %+v, want U=25 p=1/252", got)
	}
	if got := MannWhitney([]float64{2, 2, 2}, []float64{2, 2, 2}, TwoSided); got.P != 1 {
		t.Errorf("constant samples p = %g, want 1", got.P)
	}
	if got := MannWhitney(nil, []float64{1}, TwoSided); got.P != 1 {
		t.Errorf("empty sample p = %g, want 1", got.P)
	}
}

// Beyond the exact limit the tie-corrected normal approximation must agree with the exact
// permutation distribution.
func TestMannWhitneyNormalApproxMatchesExact(t *testing.T) {
	var x, y []float64
	for i := 0; i < 45; i++ {
		x = append(x, float64(i%7))
		y = append(y, float64((i*3)%9))
	}
	for _, alt := range []Alternative{Greater, Less, TwoSided} {
		got := MannWhitney(x, y, alt)
		if got.Exact {
			t.Fatal("expected the normal approximation for n=45")
		}
		// Recompute exactly through the same ranks.
		pool := append(append([]float64(nil), x...), y...)
		scores := make([]int, len(pool))
		obs := 0
		for i, v := range pool {
			var less, eq int
			for _, w := range pool {
				if w < v {
					less++
				} else if w == v {
					eq++
				}
			}
			scores[i] = 2*less + eq + 1 // doubled mid-rank
			if i >= len(x) {
				obs += scores[i]
			}
		}
		want := exactRankSumP(scores, len(y), obs, alt)
		if math.Abs(got.P-want) > 0.01 {
			t.Errorf("alt %v: normal p = %g, exact p = %g", alt, got.P, want)
		}
	}
}

// TestHodgesLehmannSelectionMatchesSort checks the selection against listing and sorting every
// difference, on ties (durations logged in whole milliseconds), skew, odd and even counts and
// the thinned 20,000-sample sides the log-latency check passes.
func TestHodgesLehmannSelectionMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	sizes := [][2]int{{1, 1}, {1, 7}, {3, 2}, {50, 51}, {400, 399}, {2000, 2000}, {20000, 20000}, {300, 20000}}
	for _, sz := range sizes {
		for _, ms := range []bool{false, true} {
			x, y := make([]float64, sz[0]), make([]float64, sz[1])
			for i := range x {
				x[i] = rng.ExpFloat64() * 0.05
			}
			for i := range y {
				y[i] = rng.ExpFloat64()*0.06 + 0.002
			}
			if ms { // heavy ties
				for i := range x {
					x[i] = math.Round(x[i]*1000) / 1000
				}
				for i := range y {
					y[i] = math.Round(y[i]*1000) / 1000
				}
			}
			want := hodgesLehmannSorted(thin(x, 2000), thin(y, 2000))
			if got := HodgesLehmann(x, y); got != want {
				t.Errorf("sizes %v ties %v: selection %v, sorting %v", sz, ms, got, want)
			}
		}
	}
	same := []float64{0.1, 0.1, 0.1}
	if got := HodgesLehmann(same, same); got != 0 {
		t.Errorf("identical constant sides: %v, want 0", got)
	}
	nan := []float64{math.NaN(), 1}
	if got, want := HodgesLehmann(nan, []float64{2, 3}), hodgesLehmannSorted(nan, []float64{2, 3}); math.Float64bits(got) != math.Float64bits(want) {
		t.Errorf("NaN input: %v, the sorted reference %v", got, want)
	}
}

func BenchmarkHodgesLehmann20000(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	x, y := make([]float64, 20000), make([]float64, 20000)
	for i := range x {
		x[i], y[i] = math.Round(rng.ExpFloat64()*50)/1000, math.Round(rng.ExpFloat64()*60)/1000
	}
	b.Run("selection", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			HodgesLehmann(x, y)
		}
	})
	b.Run("sort-all", func(b *testing.B) { // the previous way, for comparison
		b.ReportAllocs()
		for b.Loop() {
			hodgesLehmannSorted(thin(x, 2000), thin(y, 2000))
		}
	})
}
