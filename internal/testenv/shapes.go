package testenv

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/fixloop/fixloop/internal/testenv/metricshapes"
)

// MetricsShapeAnnotation on a Service makes the traffic generator publish the responses it gets through
// that Service in the named metric shapes (comma-separated names of metricshapes.Shapes): per backend pod
// as its app or sidecar would (Istio, Linkerd, Micrometer, OpenTelemetry, ...), or from a proxy in front
// of the Service (ingress-nginx, Traefik, Envoy), labelled with the Ingress that routes to the Service.
const MetricsShapeAnnotation = "fixloop.dev/metrics-shape"

// recordShapes publishes one response the generator got from pod through svc in the Service's shapes.
func (s *supervisor) recordShapes(svc *corev1.Service, pod string, code int, latency time.Duration) {
	names := svc.Annotations[MetricsShapeAnnotation]
	if names == "" {
		return
	}
	t := metricshapes.Target{Namespace: svc.Namespace, Pod: pod, Service: svc.Name, Ingress: s.ingressFor(svc)}
	added := false
	for _, name := range strings.Split(names, ",") {
		name = strings.TrimSpace(name)
		ep, err := metricshapes.Endpoint(name, t)
		if err != nil {
			s.log.Warn("unknown metric shape on service", "service", svc.Namespace+"/"+svc.Name, "err", err)
			continue
		}
		added = added || !s.shapes.Has(ep)
		_ = s.shapes.Observe(name, t, code, latency, 1)
	}
	if added { // a new scrape target
		s.writeTargets()
	}
}

// ingressFor is the first Ingress (by name) with a backend on the Service: the proxy labels the Service's
// requests with it (Argo's nginx traffic routing gives the canary Service an Ingress of its own).
func (s *supervisor) ingressFor(svc *corev1.Service) string {
	if s.ings == nil {
		return ""
	}
	ings, err := s.ings.Ingresses(svc.Namespace).List(labels.Everything())
	if err != nil {
		return ""
	}
	best := ""
	for _, ing := range ings {
		if routesTo(ing, svc.Name) && (best == "" || ing.Name < best) {
			best = ing.Name
		}
	}
	return best
}

func routesTo(ing *networkingv1.Ingress, svc string) bool {
	if b := ing.Spec.DefaultBackend; b != nil && b.Service != nil && b.Service.Name == svc {
		return true
	}
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			if p.Backend.Service != nil && p.Backend.Service.Name == svc {
				return true
			}
		}
	}
	return false
}

// shapeTargets are the Prometheus file_sd groups of the recorded shapes: a backend pod's endpoint is
// labelled with its namespace and pod like the pod's own scrape, a proxy's with the proxy's namespace and
// pod (so, as in a cluster, the series' own namespace label becomes exported_namespace).
func (s *supervisor) shapeTargets() []targetGroup {
	addr := fmt.Sprintf("127.0.0.1:%d", s.st.Ports["supervisor"])
	var out []targetGroup
	for _, ep := range s.shapes.Endpoints() {
		l := map[string]string{"__metrics_path__": "/shapes/" + ep}
		if ns := metricshapes.ProxyNamespace(ep); ns != "" {
			l["namespace"], l["pod"] = ns, strings.TrimPrefix(ep, "proxy/")+"-controller-0"
		} else {
			parts := strings.SplitN(ep, "/", 3)
			l["namespace"], l["pod"] = parts[1], parts[2]
		}
		out = append(out, targetGroup{Targets: []string{addr}, Labels: l})
	}
	return out
}
