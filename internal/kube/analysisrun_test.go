package kube

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestParseAnalysisRun(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisRun",
		"metadata": map[string]any{"name": "web-7f-2", "namespace": "shop"},
		"status": map[string]any{"phase": "Failed", "message": "metric \"fixloop\" assessed Failed", "futureField": true,
			"metricResults": []any{map[string]any{"name": "fixloop", "phase": "Failed",
				"measurements": []any{map[string]any{"phase": "Failed", "value": `{"promote":false}`}}}}},
	}}
	run, err := ParseAnalysisRun(u)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status.Phase != "Failed" || run.Status.Message == "" || RunActive(run) ||
		run.Status.MetricResults[0].Measurements[0].Value != `{"promote":false}` {
		t.Fatalf("parsed %+v", run.Status)
	}
	for phase, active := range map[string]bool{"": true, "Pending": true, "Running": true, "Successful": false, "Inconclusive": false, "Error": false} {
		u.Object["status"] = map[string]any{"phase": phase}
		if run, err := ParseAnalysisRun(u); err != nil || RunActive(run) != active {
			t.Errorf("phase %q: active %v (%v), want %v", phase, run != nil && RunActive(run), err, active)
		}
	}
	u.Object["status"] = map[string]any{"phase": 42}
	if _, err := ParseAnalysisRun(u); err == nil {
		t.Errorf("a numeric phase decoded without error")
	}
}
