package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/fixloop/fixloop/internal/kube"
)

// PromoteRolloutInput names the rollout.
type PromoteRolloutInput struct {
	Namespace string `json:"namespace" jsonschema:"namespace of the rollout"`
	Name      string `json:"name" jsonschema:"Argo Rollout name"`
	Full      bool   `json:"full,omitempty" jsonschema:"skip all remaining steps and analysis and promote to 100% (kubectl argo rollouts promote --full)"`
	DryRun    bool   `json:"dryRun,omitempty" jsonschema:"only report what would be done"`
}

// PromoteRollout does what `kubectl argo rollouts promote [--full]` does.
func PromoteRollout(ctx context.Context, d Deps, in PromoteRolloutInput) (*RolloutActionOutput, error) {
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
	plan, err := kube.PlanPromote(ro, in.Full)
	if err != nil {
		return nil, err
	}
	return applyPlan(ctx, kc, ro, plan, in.DryRun)
}

func init() {
	Add(Spec{
		Name:  "promote_rollout",
		Title: "Promote an Argo Rollout",
		Description: "Promote an Argo Rollout like `kubectl argo rollouts promote`: resume a paused canary to its next step (or, when it is running analysis, " +
			"skip the current step); full:true skips all remaining steps and goes to 100%. Idempotent for a rollout that is already fully promoted; refuses " +
			"an aborted rollout. Returns the rollout state after the patch. Use dryRun:true to see what it would do. Prefer compare_canary or get_logs/get_metrics evidence first.",
		Toolset: ToolsetRollouts,
		Write:   true,
		Timeout: 30 * time.Second,
	}, PromoteRollout)
}
