package kube

import (
	"fmt"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// ParseAnalysisRun decodes an AnalysisRun with Argo's own types (fields this Argo version does not know
// are ignored), so callers read run.Status.Phase and its measurements instead of walking maps.
func ParseAnalysisRun(u *unstructured.Unstructured) (*v1alpha1.AnalysisRun, error) {
	var run v1alpha1.AnalysisRun
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &run); err != nil {
		return nil, fmt.Errorf("analysisrun %s/%s is not an Argo AnalysisRun: %w", u.GetNamespace(), u.GetName(), err)
	}
	return &run, nil
}

// RunActive reports an AnalysisRun that has not finished (no phase yet, Pending or Running).
func RunActive(run *v1alpha1.AnalysisRun) bool {
	return !run.Status.Phase.Completed()
}
