package tools

import (
	"fmt"
	"math"
	"strings"

	"github.com/prometheus/common/model"
)

func fillResult(mr *MetricResult, val model.Value, warn []string, err error, maxPoints int, keepLabels bool) {
	if err != nil {
		mr.Status, mr.Error = "error", err.Error()
		return
	}
	if len(warn) > 0 {
		mr.Warning = strings.Join(warn, "; ")
	}
	var series []MetricSeries
	var raw [][2]float64
	switch v := val.(type) {
	case model.Matrix:
		for _, s := range v[:min(len(v), 20)] {
			ms := MetricSeries{Points: [][2]float64{}}
			for _, p := range s.Values {
				if f := float64(p.Value); !math.IsNaN(f) && !math.IsInf(f, 0) {
					ms.Points = append(ms.Points, [2]float64{float64(p.Timestamp.Unix()), round(f)})
				}
			}
			if len(ms.Points) > 0 && raw == nil {
				raw = ms.Points // stats come from the full-resolution points
			}
			ms.Points = downsample(ms.Points, maxPoints)
			if len(ms.Points) > 0 {
				if keepLabels && len(s.Metric) > 0 {
					ms.Labels = labelMap(s.Metric)
				}
				series = append(series, ms)
			}
		}
		if len(v) > 20 {
			mr.Warning = strings.TrimPrefix(mr.Warning+fmt.Sprintf("; %d series, first 20 shown", len(v)), "; ")
		}
	case model.Vector:
		for _, s := range v[:min(len(v), 20)] {
			if f := float64(s.Value); !math.IsNaN(f) && !math.IsInf(f, 0) {
				series = append(series, MetricSeries{Labels: labelMap(s.Metric), Points: [][2]float64{{float64(s.Timestamp.Unix()), round(f)}}})
			}
		}
	case *model.Scalar:
		if f := float64(v.Value); !math.IsNaN(f) {
			series = append(series, MetricSeries{Points: [][2]float64{{float64(v.Timestamp.Unix()), round(f)}}})
		}
	}
	if len(series) == 0 {
		mr.Status = "missing"
		return
	}
	mr.Status = "ok"
	mr.Series = series
	if len(series) == 1 {
		pts := series[0].Points
		if raw != nil {
			pts = raw
		}
		last, mn, mx, sum := pts[len(pts)-1][1], math.Inf(1), math.Inf(-1), 0.0
		for _, p := range pts {
			mn, mx, sum = math.Min(mn, p[1]), math.Max(mx, p[1]), sum+p[1]
		}
		avg := round(sum / float64(len(pts)))
		mr.Last, mr.Min, mr.Max, mr.Avg = &last, &mn, &mx, &avg
		if len(pts) >= 3 {
			s := round(slope(pts) * 60)
			mr.Slope = &s
		}
	}
}

func labelMap(m model.Metric) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[string(k)] = string(v)
	}
	return out
}

func round(f float64) float64 {
	if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return f
	}
	// 4 significant digits keep series readable and small.
	mag := math.Pow(10, 3-math.Floor(math.Log10(math.Abs(f))))
	return math.Round(f*mag) / mag
}

// slope is the least-squares slope per second.
func slope(pts [][2]float64) float64 {
	n := float64(len(pts))
	var sx, sy, sxx, sxy float64
	for _, p := range pts {
		x := p[0] - pts[0][0]
		sx, sy, sxx, sxy = sx+x, sy+p[1], sxx+x*x, sxy+x*p[1]
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / den
}

// downsample keeps at most n points by averaging buckets (the range step already bounds most series).
func downsample(pts [][2]float64, n int) [][2]float64 {
	if len(pts) <= n {
		return pts
	}
	out := make([][2]float64, 0, n)
	for i := 0; i < n; i++ {
		lo, hi := i*len(pts)/n, (i+1)*len(pts)/n
		var sum float64
		for _, p := range pts[lo:hi] {
			sum += p[1]
		}
		out = append(out, [2]float64{pts[hi-1][0], round(sum / float64(hi-lo))})
	}
	return out
}
