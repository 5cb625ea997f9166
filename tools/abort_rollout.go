package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/fixloop/fixloop/internal/kube"
)

// AbortRolloutInput names the rollout.
type AbortRolloutInput struct {
	Namespace string `json:"namespace" jsonschema:"namespace of the rollout"`
	Name      string `json:"name" jsonschema:"Argo Rollout name"`
	DryRun    bool   `json:"dryRun,omitempty" jsonschema:"only report what would be done"`
}

// AbortRollout does what `kubectl argo rollouts abort` does.
func AbortRollout(ctx context.Context, d Deps, in AbortRolloutInput) (*RolloutActionOutput, error) {
	kc, err := d.kubeClient()
	if err != nil {
		return nil, err
	}
	if in.Namespace == "" || in.Name == "" {
		return nil, fmt.Errorf("namespace and name are required")
	}
	ro, err := kc.GetRollout(ctx, in.Namespace, in.Name)
	if err != nil {
		return nil, err
	}
	plan, err := kube.PlanAbort(ro)
	if err != nil {
		return nil, err
	}
	return applyPlan(ctx, kc, ro, plan, in.DryRun)
}

func init() {
	Add(Spec{
		Name:  "abort_rollout",
		Title: "Abort an Argo Rollout",
		Description: "Abort an Argo Rollout's update like `kubectl argo rollouts abort`: the controller scales the canary down and sends all traffic back to " +
			"stable; the rollout becomes Degraded until a new revision is deployed or it is retried. Idempotent (aborting an aborted rollout changes nothing); " +
			"refuses when no update is in progress. Returns the rollout state after the patch; dryRun:true only reports.",
		Toolset:     ToolsetRollouts,
		Write:       true,
		Destructive: true,
		Idempotent:  true,
		Timeout:     30 * time.Second,
	}, AbortRollout)
}
