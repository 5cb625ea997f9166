package report

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// textFitScript measures, in the browser, every text of every chart against its chart's box and
// writes the findings into the page (the test reads them from the dumped DOM).
const textFitScript = `<script>
const out = [];
for (const svg of document.querySelectorAll("svg.chart")) {
  const box = svg.getBoundingClientRect();
  for (const t of svg.querySelectorAll("text")) {
    const r = t.getBoundingClientRect();
    if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5) {
      out.push("OUTSIDE " + JSON.stringify(t.textContent) + " " + [r.left, r.right, r.top, r.bottom].map(Math.round) + " chart " + [box.left, box.right, box.top, box.bottom].map(Math.round));
    }
  }
  out.push("TEXTS " + svg.querySelectorAll("text").length);
}
document.getElementById("fit").textContent = out.join("\n");
</script>`

// Chart text stays inside its chart in a real browser, whatever font the browser picks for it
// (gonum measures text in its own Liberation metrics; this machine's Chromium draws DejaVu, which is
// wider: the legend ran past the right edge). The page is the charts alone plus a measuring script,
// served without the report's no-script policy.
func TestChartTextFitsInHeadlessChromium(t *testing.T) {
	var page strings.Builder
	page.WriteString(`<!doctype html><html><body style="margin:0"><pre id="fit"></pre>`)
	for _, s := range []Series{
		{Name: "http_requests_error_ratio", Stable: ramp(120, 0.01), Canary: ramp(118, 0.2)},
		{Name: "p99 latency seconds (histogram_quantile over 5m)", Stable: ramp(40, 0.3), Canary: ramp(1000, 2.5)},
	} {
		svg, err := chartSVG(s)
		if err != nil {
			t.Fatal(err)
		}
		page.WriteString(`<div>` + string(svg) + `</div>`)
	}
	page.WriteString(textFitScript + `</body></html>`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page.String()))
	}))
	defer srv.Close()
	dom, _ := runChromium(t, srv.URL, "--dump-dom", "--window-size=1280,2000")
	m := regexp.MustCompile(`(?s)<pre id="fit">(.*?)</pre>`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the measuring script left no result:\n%s", dom)
	}
	texts := 0
	for _, line := range strings.Split(m[1], "\n") {
		if n, ok := strings.CutPrefix(line, "TEXTS "); ok {
			k, _ := strconv.Atoi(n)
			texts += k
		}
		if strings.HasPrefix(line, "OUTSIDE") {
			t.Errorf("chart text clipped: %s", line)
		}
	}
	if texts < 10 { // title, axis labels, ticks, legend of two charts
		t.Fatalf("measured %d chart texts, want the titles, labels, ticks and legends: %q", texts, m[1])
	}
}

func ramp(n int, top float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = top * float64(i%17) / 16
	}
	return v
}
