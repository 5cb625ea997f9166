package metricshapes

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Every shape's exposition parses as Prometheus text, with the responses counted per status as recorded:
// a backend pod's shapes on its own endpoint, a proxy's on the proxy's, and two shapes sharing a family
// name on one endpoint still give one TYPE line.
func TestRecorderWritesEachShape(t *testing.T) {
	r := NewRecorder()
	tg := Target{Namespace: "shop", Pod: "web-7f9c-abcde", Service: "web-canary", Ingress: "web-web-canary"}
	for _, name := range Names() {
		for code, n := range map[int]float64{200: 7, 503: 3} {
			if err := r.Observe(name, tg, code, 30*time.Millisecond, n); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := r.Observe("kayenta", tg, 200, time.Millisecond, 1); err == nil {
		t.Error("an unknown shape was accepted")
	}
	if got := strings.Join(r.Endpoints(), " "); !strings.Contains(got, "pod/shop/web-7f9c-abcde") || !strings.Contains(got, "proxy/ingress-nginx") {
		t.Fatalf("endpoints %s", got)
	}
	for _, ep := range r.Endpoints() {
		var b strings.Builder
		r.Write(&b, ep)
		p := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := p.TextToMetricFamilies(strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("%s: %v\n%s", ep, err, b.String())
		}
		if len(fams) == 0 {
			t.Errorf("%s: no families", ep)
		}
	}
	var b strings.Builder
	r.Write(&b, "proxy/ingress-nginx")
	for _, want := range []string{`status="503"`, `canary="shop-web-canary-80"`, `ingress="web-web-canary"`, `service="web-canary"`, `status="200",le="0.05"} 7`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("ingress-nginx exposition lacks %s:\n%s", want, b.String())
		}
	}
	b.Reset()
	r.Write(&b, "pod/shop/web-7f9c-abcde")
	for _, want := range []string{`status="5xx"`, `classification="failure"`, `outcome="SERVER_ERROR"`, `http_response_status_code="503"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("pod exposition lacks %s", want)
		}
	}
	if n := strings.Count(b.String(), "# TYPE http_requests_total "); n != 1 {
		t.Errorf("%d TYPE lines for http_requests_total", n)
	}
	r.ForgetPod("shop", "web-7f9c-abcde")
	if r.Has("pod/shop/web-7f9c-abcde") {
		t.Error("a gone pod's series are still served")
	}
}
