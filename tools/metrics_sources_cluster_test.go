package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/prom"
	"github.com/fixloop/fixloop/internal/testenv"
	"github.com/fixloop/fixloop/tools"
)

// shapeCase is one rollout whose HTTP metrics live only in one source's shape: the test environment's
// traffic generator publishes the responses it really got from each pod in that shape.
type shapeCase struct {
	shape     string // metricshapes / prom source name; "" publishes nothing
	canaryEnv map[string]string
	want      string // verdict
	nginx     bool   // Argo nginx traffic routing, rollouts-demo behind ingress-nginx
}

const shapeRPS = "20"

// demoService is a Service in front of the rollout's pods whose traffic is published in shape.
func (c *canaryCluster) demoService(t *testing.T, name, rollout, shape string) {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.ns,
			Annotations: map[string]string{testenv.MetricsShapeAnnotation: shape, testenv.TrafficAnnotation: shapeRPS}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": rollout},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	if shape == "" {
		delete(svc.Annotations, testenv.MetricsShapeAnnotation)
	}
	if _, err := c.e.Clientset(t).CoreV1().Services(c.ns).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// nginxRouting creates what Argo's nginx traffic routing needs (stable and canary Services, the stable
// Ingress) and returns the rollout's strategy fields.
func (c *canaryCluster) nginxRouting(t *testing.T, rollout string) map[string]any {
	t.Helper()
	c.demoService(t, rollout+"-stable", rollout, "ingress-nginx")
	c.demoService(t, rollout+"-canary", rollout, "ingress-nginx")
	class := "nginx"
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: rollout, Namespace: c.ns},
		Spec: networkingv1.IngressSpec{IngressClassName: &class, Rules: []networkingv1.IngressRule{{Host: "demo.example.com",
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: ptr(networkingv1.PathTypePrefix),
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: rollout + "-stable",
					Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}},
	}
	if _, err := c.e.Clientset(t).NetworkingV1().Ingresses(c.ns).Create(context.Background(), ing, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return map[string]any{"canaryService": rollout + "-canary", "stableService": rollout + "-stable",
		"trafficRouting": map[string]any{"nginx": map[string]any{"stableIngress": rollout}}}
}

func ptr[T any](v T) *T { return &v }

// compare_canary finds HTTP metrics that live only in a mesh's, an ingress's or an app library's series,
// without configuration: a 5xx regression seen there aborts on the error ratio, equal rates promote, no
// source at all says so. rollouts-demo (which exports no metrics) behind ingress-nginx with Argo's nginx
// traffic routing is told apart by its canary Service and Argo's canary Ingress.
func TestCompareCanaryOnEachMetricsShapeOnCluster(t *testing.T) {
	c := newCanaryCluster(t, "shape")
	t.Parallel() // a namespace of its own; it waits on the controller and scrapes
	fail := map[string]string{"ERROR_RATE": "0.3"}
	cases := map[string]shapeCase{
		"istio":      {shape: "istio", canaryEnv: fail, want: judge.Abort},
		"linkerd":    {shape: "linkerd", canaryEnv: map[string]string{"COLOR": "green"}, want: judge.Promote},
		"micrometer": {shape: "micrometer", canaryEnv: fail, want: judge.Abort},
		"otel":       {shape: "opentelemetry", canaryEnv: fail, want: judge.Abort},
		// rollouts-demo answers 500 to (100-ERROR_RATE)% of requests.
		"nginx": {shape: "ingress-nginx", canaryEnv: map[string]string{"ERROR_RATE": "70"}, want: judge.Abort, nginx: true},
		"bare":  {canaryEnv: map[string]string{"COLOR": "green"}},
	}
	var rs []testenv.DemoRollout
	var envs []map[string]string
	for name, tc := range cases {
		r := testenv.DemoRollout{Name: name, Replicas: 2, Steps: []map[string]any{{"setWeight": int64(50)}, {"pause": map[string]any{}}},
			Env: map[string]string{"HTTP_METRICS": "off"}}
		if tc.nginx {
			r.Image, r.Env, r.Extra = testenv.RolloutsDemoImage, nil, c.nginxRouting(t, name)
		} else {
			c.demoService(t, name, name, tc.shape)
		}
		rs, envs = append(rs, r), append(envs, tc.canaryEnv)
	}
	hashes := c.pausedCanaries(t, rs, envs)
	for name, tc := range cases {
		if tc.shape == "" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			c.waitShapeSamples(t, name, tc, hashes[name][1])
			var out *tools.CompareCanaryOutput
			waitFor(t, tc.want+" on "+tc.shape+" metrics", 3*time.Minute, func() (bool, string) {
				out = c.compare(t, tools.CompareCanaryInput{Rollout: name, SinceSeconds: 300})
				named := strings.Contains(strings.Join(out.Notes, "\n"), "HTTP metrics source: "+tc.shape+" ") && strings.Contains(out.Analysis, tc.shape)
				return out.Verdict == tc.want && named, fmt.Sprintf("%s: %s; notes %v", out.Verdict, out.RootCause, out.Notes)
			})
			if tc.want == judge.Abort && !hasMetricEvidence(out, "error_ratio") {
				raw, _ := json.Marshal(out.Evidence)
				t.Errorf("abort without error_ratio evidence from %s: %s", tc.shape, raw)
			}
		})
	}
	t.Run("get_metrics names the source", func(t *testing.T) {
		for _, in := range []tools.GetMetricsInput{{Rollout: "istio", Role: "canary"}, {Workload: "rollout/nginx"}, {Rollout: "nginx", Role: "stable"}} {
			in.Namespace, in.Window = c.ns, "5m"
			want := map[string]string{"istio": "istio", "nginx": "ingress-nginx", "rollout/nginx": "ingress-nginx"}[in.Rollout+in.Workload]
			out, err := tools.GetMetrics(context.Background(), c.d, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range out.Metrics {
				if (m.Name == "request_rate" || m.Name == "latency_p95") && (m.Status != "ok" || m.Source != want) {
					t.Errorf("%+v: %s from %q (%s %s), want ok from %s", in, m.Name, m.Source, m.Status, m.Why, want)
				}
			}
			if !strings.Contains(out.HTTPSource, want) {
				t.Errorf("%+v: httpSource %q", in, out.HTTPSource)
			}
		}
		out, err := tools.GetMetrics(context.Background(), c.d, tools.GetMetricsInput{Namespace: c.ns, Rollout: "bare", Window: "5m"})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Metrics {
			if m.Name == "error_ratio" && (m.Status != "missing" || !strings.Contains(m.Why, "no HTTP metrics source found")) {
				t.Errorf("bare error_ratio: %+v", m)
			}
		}
	})
	t.Run("nginx split", func(t *testing.T) {
		ms, err := tools.MetricsSources(context.Background(), c.d, c.ns, "nginx")
		if err != nil {
			t.Fatal(err)
		}
		if ms.Discovery.Traffic != "ingress-nginx" || strings.Join(ms.Split.Ingresses[1], ",") != "nginx-nginx-canary" ||
			ms.Split.Services != [2]string{"nginx-stable", "nginx-canary"} {
			t.Errorf("split %+v, discovery %+v", ms.Split, ms.Discovery)
		}
	})
	t.Run("no source says so", func(t *testing.T) {
		out := c.compare(t, tools.CompareCanaryInput{Rollout: "bare", SinceSeconds: 300})
		if !strings.Contains(out.Analysis, "no HTTP metrics source found") || !strings.Contains(strings.Join(out.Notes, "\n"), "no HTTP metrics source found") {
			t.Errorf("analysis %q notes %v: want the missing source named", out.Analysis, out.Notes)
		}
		ms, err := tools.MetricsSources(context.Background(), c.d, c.ns, "bare")
		if err != nil || ms.Discovery.Traffic != "" || len(ms.Discovery.Candidates) != len(prom.Sources) {
			t.Fatalf("metrics sources of bare: %+v %v", ms, err)
		}
	})
}

// waitShapeSamples waits until Prometheus holds a minute of the shape's request series for the canary.
func (c *canaryCluster) waitShapeSamples(t *testing.T, rollout string, tc shapeCase, canaryHash string) {
	t.Helper()
	src, ok := prom.SourceNamed(tc.shape)
	if !ok {
		t.Fatalf("no source %s", tc.shape)
	}
	pods, err := c.e.Clientset(t).CoreV1().Pods(c.ns).List(context.Background(), metav1.ListOptions{LabelSelector: kube.PodTemplateHashLabel + "=" + canaryHash})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("canary pods of %s: %v", rollout, err)
	}
	side := prom.Side{Namespace: c.ns, Services: []string{rollout}}
	for _, p := range pods.Items {
		side.Pods = append(side.Pods, p.Name)
	}
	if tc.nginx {
		side.Services, side.Ingresses = []string{rollout + "-canary"}, []string{rollout + "-" + rollout + "-canary"}
	}
	sel, err := src.Selector(side, "")
	if err != nil {
		t.Fatal(err)
	}
	c.waitSamples(t, fmt.Sprintf("%s{%s}", src.Requests, sel), 12, 5*time.Minute)
}

func hasMetricEvidence(out *tools.CompareCanaryOutput, metric string) bool {
	for _, ev := range out.Evidence {
		if ev.Kind == judge.KindMetric && ev.Metric == metric {
			return true
		}
	}
	return false
}
