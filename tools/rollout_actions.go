package tools

import (
	"context"

	"github.com/fixloop/fixloop/internal/kube"
)

// RolloutActionOutput is the rollout state after (or, with dryRun, before) the action.
type RolloutActionOutput struct {
	Action  string       `json:"action" jsonschema:"what was (or would be) done"`
	Changed bool         `json:"changed" jsonschema:"false when the rollout already was in the requested state or dryRun"`
	DryRun  bool         `json:"dryRun,omitempty"`
	Patches []string     `json:"patches,omitempty" jsonschema:"merge patches sent (status subresource first, then spec)"`
	Rollout kube.Rollout `json:"rollout" jsonschema:"rollout state as returned by the API server after the patch; the controller acts on it within seconds (call get_architecture workload=rollout/NAME to watch)"`
}

func applyPlan(ctx context.Context, kc kube.Client, ro *kube.Rollout, plan *kube.PromotePlan, dryRun bool) (*RolloutActionOutput, error) {
	out := &RolloutActionOutput{Action: plan.Action, DryRun: dryRun}
	for _, p := range [][]byte{plan.StatusPatch, plan.SpecPatch} {
		if p != nil {
			out.Patches = append(out.Patches, string(p))
		}
	}
	if plan.Noop || dryRun {
		out.Rollout = *ro
		return out, nil
	}
	after, err := kc.PatchRollout(ctx, ro.Namespace, ro.Name, plan.StatusPatch, plan.SpecPatch)
	if err != nil {
		return nil, err
	}
	out.Changed = true
	out.Rollout = *after
	return out, nil
}
