package triage

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/prom"
	"github.com/fixloop/fixloop/internal/store"
	"github.com/fixloop/fixloop/internal/testenv"
	"github.com/fixloop/fixloop/tools"
)

// investigate_service, and the monitor that runs its checks, judge a workload whose HTTP metrics live
// only in its Istio sidecars' series: 30% 5xx there is critical, measured from istio, without configuration.
func TestInvestigateFindsMeshOnlyMetricsOnRealCluster(t *testing.T) {
	e := testenv.Get(t)
	t.Parallel() // its own namespace and store: beside the other cluster tests
	ns := e.NewNamespace(t, "invsrc")
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "mesh", Namespace: ns,
		Annotations: map[string]string{testenv.MetricsShapeAnnotation: "istio", testenv.TrafficAnnotation: "20"}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "mesh"}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
	if _, err := e.Clientset(t).CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.DeployDemoRollout(t, ns, testenv.DemoRollout{Name: "mesh", Replicas: 2, Env: map[string]string{"HTTP_METRICS": "off", "ERROR_RATE": "0.3"}})
	kc, err := kube.NewFromConfig(e.RestConfig, "testenv", kube.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := prom.New(e.PrometheusURL, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// A minute of the sidecars' 5xx series in Prometheus before judging.
	q := fmt.Sprintf(`min(count_over_time(istio_requests_total{namespace=%q,response_code=~"5.."}[5m]))`, ns)
	testenv.WaitFor(t, "12 samples of "+q+" in Prometheus", time.Second, 4*time.Minute, func() (bool, string) {
		v, _, err := pc.Query(context.Background(), q, time.Now())
		if err != nil {
			return false, err.Error()
		}
		if vec, ok := v.(model.Vector); ok && len(vec) == 1 {
			return vec[0].Value >= 12, fmt.Sprintf("%g samples", float64(vec[0].Value))
		}
		return false, fmt.Sprintf("answer %v", v)
	})
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tr, err := New(Config{Store: st, Tools: tools.Deps{Kube: kc, Prom: pc}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.InvestigateService(context.Background(), InvestigateInput{Namespace: ns, Workload: "mesh", Window: "5m"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var f5xx *Finding
	for i, f := range res.Findings {
		if f.Check == "error_rate_5xx" {
			f5xx = &res.Findings[i]
		}
	}
	if f5xx == nil || f5xx.Severity != "critical" || !strings.Contains(f5xx.Evidence, "istio") {
		t.Errorf("error_rate_5xx %+v; findings %+v", f5xx, res.Findings)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "HTTP metrics source: istio") {
		t.Errorf("notes %v do not name the source", res.Notes)
	}
}
