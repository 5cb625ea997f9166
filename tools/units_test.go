package tools

import (
	"math"
	"strings"
	"testing"

	"github.com/prometheus/common/model"

	"github.com/fixloop/fixloop/internal/prom"
)

func TestByteBudgetKeepsEveryPodAndSaysWhatWasCut(t *testing.T) {
	out := &GetLogsOutput{Pods: []PodLog{
		{Pod: "a", Lines: []string{strings.Repeat("a", 100), strings.Repeat("a", 100), strings.Repeat("a", 100)}},
		{Pod: "b", Lines: []string{"password=hunter2 " + strings.Repeat("b", 100), strings.Repeat("b", 100)}},
	}}
	var cut []string
	applyByteBudget(Deps{}, out, 250, &cut)
	total := 0
	for _, p := range out.Pods {
		if len(p.Lines) == 0 {
			t.Errorf("pod %s lost all its lines", p.Pod)
		}
		for _, l := range p.Lines {
			total += len(l)
			if strings.Contains(l, "hunter2") {
				t.Errorf("secret survived: %q", l)
			}
		}
	}
	if total > 250 || len(cut) != 1 || !strings.Contains(cut[0], "maxBytes=250") {
		t.Errorf("total %d bytes, cut %q", total, cut)
	}
	if out.Pods[0].Omitted+out.Pods[1].Omitted == 0 {
		t.Errorf("omitted counts not updated")
	}
}

func TestMissingIsNotZero(t *testing.T) {
	var mr MetricResult
	fillResult(&mr, model.Matrix{}, nil, nil, 30, false)
	if mr.Status != "missing" || mr.Last != nil {
		t.Errorf("empty matrix: %+v", mr)
	}
	mr = MetricResult{}
	nan := model.Matrix{{Values: []model.SamplePair{{Timestamp: 1000, Value: model.SampleValue(math.NaN())}}}}
	fillResult(&mr, nan, nil, nil, 30, false)
	if mr.Status != "missing" {
		t.Errorf("all-NaN series must be missing, got %+v", mr)
	}
	mr = MetricResult{}
	var pts []model.SamplePair
	for i := 0; i < 100; i++ {
		pts = append(pts, model.SamplePair{Timestamp: model.Time(i * 60000), Value: model.SampleValue(1000 + 10*i)})
	}
	fillResult(&mr, model.Matrix{{Values: pts}}, nil, nil, 20, false)
	if mr.Status != "ok" || len(mr.Series[0].Points) != 20 || mr.Slope == nil || math.Abs(*mr.Slope-10) > 0.01 || *mr.Last != 1990 {
		t.Errorf("series: status %s, %d points, slope %v, last %v", mr.Status, len(mr.Series[0].Points), *mr.Slope, *mr.Last)
	}
}

func TestRenderPromQL(t *testing.T) {
	src, _ := prom.SourceNamed("prometheus-go")
	q := RenderPromQL(src.Templates()["latency_p95"], `namespace="a",pod=~"x|y"`, "2m", true)
	want := `1 * histogram_quantile(0.95, sum by (le,pod) (rate(http_request_duration_seconds_bucket{namespace="a",pod=~"x|y"}[2m])))`
	if q != want {
		t.Errorf("got  %s\nwant %s", q, want)
	}
}
