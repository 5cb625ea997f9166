package tools

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/prom"
)

// Without an HTTP metrics source a promote loses confidence, but an abort found on hard evidence (a new
// panic) keeps it: missing metrics do not weaken evidence that was seen.
func TestNoMetricsSourceLowersOnlyNonAborts(t *testing.T) {
	none := &metricSources{disc: &prom.Discovery{Candidates: []prom.Candidate{{Source: "istio"}}}}
	for _, tc := range []struct {
		verdict string
		want    int
	}{{judge.Abort, 99}, {judge.Promote, 60}, {judge.Inconclusive, 60}} {
		out := &CompareCanaryOutput{}
		out.Verdict, out.Confidence = tc.verdict, 80
		if tc.verdict == judge.Abort {
			out.Confidence = 99
		}
		none.judgeWith(out)
		if out.Confidence != tc.want {
			t.Errorf("%s: confidence %d, want %d", tc.verdict, out.Confidence, tc.want)
		}
		if len(out.Notes) == 0 {
			t.Errorf("%s: the verdict does not say no source was found", tc.verdict)
		}
	}
}

// get_metrics and compare_canary read HTTP series only from a discovered source: with none, the metric
// is missing and says why, instead of querying a convention the pods do not follow.
func TestHTTPMetricsFollowDiscovery(t *testing.T) {
	side := prom.Side{Namespace: "shop", Pods: []string{"web-1"}, Services: []string{"web"}, Ingresses: []string{"web"}}
	none := &metricSources{disc: &prom.Discovery{Candidates: []prom.Candidate{{Source: "istio"}}}, sides: []prom.Side{side}}
	defs, err := metricDefsNamed([]string{"request_rate", "latency_p95", "cpu_cores"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range none.withSource(defs, 0)[:2] {
		if d.query != "" || !strings.Contains(d.why, "no HTTP metrics source found") || !strings.Contains(d.why, "istio") {
			t.Errorf("%s without a source: query %q why %q", d.name, d.query, d.why)
		}
	}
	nginx := &metricSources{disc: &prom.Discovery{Traffic: "ingress-nginx", Latency: "ingress-nginx",
		Candidates: []prom.Candidate{{Source: "ingress-nginx", Found: true, NSLabel: "exported_namespace"}}}, sides: []prom.Side{side}}
	got := nginx.withSource(defs, 0)
	for _, d := range got[:2] {
		if d.source != "ingress-nginx" || !strings.Contains(d.query, `nginx_ingress_controller_re`) ||
			!strings.Contains(d.query, `exported_namespace="shop",service=~"^(web)$",ingress=~"^(web)$"`) {
			t.Errorf("%s from ingress-nginx: %q", d.name, d.query)
		}
	}
	if got[2].query != defs[2].query || got[2].source != "" {
		t.Errorf("cpu_cores changed: %+v", got[2])
	}
	linkerd := &metricSources{disc: &prom.Discovery{Traffic: "linkerd", Candidates: []prom.Candidate{{Source: "linkerd", Found: true}}}, sides: []prom.Side{side}}
	if q, src, why := linkerd.query("rate_4xx", "traffic", 0); q != "" || src != "linkerd" || why == "" {
		t.Errorf("linkerd rate_4xx: %q %q %q", q, src, why)
	}
}

// The split is read the way Argo reads it: Services from canaryService/stableService, ingress-nginx's
// canary Ingress named as Argo names its copy, Istio's subset split noted as by-pod only.
func TestRolloutSplit(t *testing.T) {
	ro := func(canary map[string]any) *kube.Rollout {
		u := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "web", "namespace": "shop",
			"annotations": map[string]any{AnnotationMetricsSource: " istio "}},
			"spec": map[string]any{"strategy": map[string]any{"canary": canary}}}}
		return &kube.Rollout{Name: "web", Namespace: "shop", Object: u}
	}
	ts, err := rolloutSplit(ro(map[string]any{"canaryService": "web-canary", "stableService": "web-stable",
		"trafficRouting": map[string]any{"nginx": map[string]any{"stableIngress": "web", "stableIngresses": []any{"web-admin"}}}}))
	if err != nil {
		t.Fatal(err)
	}
	if ts.Services != [2]string{"web-stable", "web-canary"} || ts.Override != "istio" ||
		strings.Join(ts.Ingresses[0], ",") != "web,web-admin" || strings.Join(ts.Ingresses[1], ",") != "web-web-canary,web-web-admin-canary" ||
		strings.Join(ts.Routers, ",") != "nginx" {
		t.Errorf("nginx split: %+v", ts)
	}
	ts, err = rolloutSplit(ro(map[string]any{"trafficRouting": map[string]any{"istio": map[string]any{
		"virtualService": map[string]any{"name": "web"}, "destinationRule": map[string]any{"name": "web", "canarySubsetName": "canary", "stableSubsetName": "stable"}}}}))
	if err != nil || ts.Services != [2]string{} || !strings.Contains(ts.describe(), "subset split") {
		t.Errorf("istio subset split: %+v %v", ts, err)
	}
	ts, err = rolloutSplit(ro(map[string]any{"canaryService": "c", "stableService": "s",
		"trafficRouting": map[string]any{"plugins": map[string]any{"argoproj-labs/gatewayAPI": map[string]any{"httpRoute": "web"}}, "smi": map[string]any{}}}))
	if err != nil || strings.Join(ts.Routers, ",") != "plugin:argoproj-labs/gatewayAPI,smi" || ts.Services != [2]string{"s", "c"} {
		t.Errorf("gateway API + SMI split: %+v %v", ts, err)
	}
	if _, err := rolloutSplit(ro(map[string]any{"canaryService": 3})); err == nil {
		t.Error("a malformed canary strategy is not reported")
	}
	if ts, err := rolloutSplit(nil); err != nil || len(ts.Routers) != 0 {
		t.Errorf("nil rollout: %+v %v", ts, err)
	}
}

// An app without HTTP metrics whose access lines carry each request's status (argoproj/rollouts-demo):
// the judge compared the failed share from the logs, so a promote keeps its confidence and says why.
func TestNoMetricsSourceButAccessStatusesKeepsConfidence(t *testing.T) {
	none := &metricSources{disc: &prom.Discovery{Candidates: []prom.Candidate{{Source: "istio"}}}}
	out := &CompareCanaryOutput{}
	out.Verdict, out.Confidence = judge.Promote, 95
	out.Summary.RequestStatusCompared, out.Summary.StableStatusRecords, out.Summary.CanaryStatusRecords = true, 800, 200
	none.judgeWith(out)
	if out.Confidence != 95 {
		t.Errorf("confidence %d, want 95: %s", out.Confidence, out.Analysis)
	}
	if !strings.Contains(out.Analysis, "access lines") {
		t.Errorf("the verdict does not say the statuses came from the access lines: %s", out.Analysis)
	}
}

// A source forced by configuration is named as such in the verdict, as the annotation is.
func TestForcedSourceNamesItsOverride(t *testing.T) {
	ms := &metricSources{disc: &prom.Discovery{Traffic: "istio", Latency: "istio", Forced: true}, forcedBy: "config prometheus.source (--metrics-source)"}
	if msg, found := ms.describe(); !found || !strings.Contains(msg, "istio (set by config prometheus.source") {
		t.Errorf("describe: %q", msg)
	}
}
