package kube

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// Rollout is the part of an Argo Rollout that fixloop reasons about, parsed from the unstructured object.
type Rollout struct {
	Namespace        string   `json:"namespace"`
	Name             string   `json:"name"`
	Strategy         string   `json:"strategy"` // canary | blueGreen
	Phase            string   `json:"phase,omitempty"`
	Message          string   `json:"message,omitempty"`
	Steps            int      `json:"steps"`
	CurrentStepIndex *int     `json:"currentStepIndex,omitempty"`
	CurrentStep      string   `json:"currentStep,omitempty"` // e.g. "setWeight 20", "pause", "analysis"
	SetWeight        *int     `json:"setWeight,omitempty"`   // weight of the last setWeight step reached
	Paused           bool     `json:"paused"`                // spec.paused or pause conditions present
	PauseReasons     []string `json:"pauseReasons,omitempty"`
	Aborted          bool     `json:"aborted"`
	PromoteFull      bool     `json:"promoteFull,omitempty"`
	StableHash       string   `json:"stableHash,omitempty"`  // status.stableRS (pod-template hash)
	CanaryHash       string   `json:"canaryHash,omitempty"`  // status.currentPodHash when it differs from stable
	CurrentHash      string   `json:"currentHash,omitempty"` // status.currentPodHash
	Replicas         int64    `json:"replicas"`
	UpdatedReplicas  int64    `json:"updatedReplicas"`
	ReadyReplicas    int64    `json:"readyReplicas"`
	AvailableReplica int64    `json:"availableReplicas"`
	Selector         string   `json:"selector,omitempty"`
	Generation       int64    `json:"generation"`
	ObservedGen      string   `json:"observedGeneration,omitempty"`

	specPaused     bool
	pauseCondCount int
	Object         *unstructured.Unstructured `json:"-"`
}

// PodTemplateHashLabel is the label Argo Rollouts puts on every pod of a revision.
const PodTemplateHashLabel = "rollouts-pod-template-hash"

// PodSelector selects the rollout's pods of one revision (pod-template hash): the rollout's own
// selector narrowed by the hash label, so another app's pods that happen to share a hash never count.
// With no status.selector yet it is the hash label alone.
func (r *Rollout) PodSelector(hash string) string {
	sel := PodTemplateHashLabel + "=" + hash
	if r.Selector != "" {
		sel = r.Selector + "," + sel
	}
	return sel
}

// CanaryInFlight reports a new revision that is not yet the stable one.
func (r *Rollout) CanaryInFlight() bool {
	return r.CurrentHash != "" && r.StableHash != "" && r.CurrentHash != r.StableHash
}

// ParseRollout reads the fields fixloop needs; missing fields stay zero.
func ParseRollout(u *unstructured.Unstructured) *Rollout {
	r := &Rollout{Namespace: u.GetNamespace(), Name: u.GetName(), Generation: u.GetGeneration(), Object: u}
	obj := u.Object
	if _, ok, _ := unstructured.NestedMap(obj, "spec", "strategy", "blueGreen"); ok {
		r.Strategy = "blueGreen"
	} else {
		r.Strategy = "canary"
	}
	steps, _, _ := unstructured.NestedSlice(obj, "spec", "strategy", "canary", "steps")
	r.Steps = len(steps)
	r.specPaused, _, _ = unstructured.NestedBool(obj, "spec", "paused")
	r.Phase, _, _ = unstructured.NestedString(obj, "status", "phase")
	r.Message, _, _ = unstructured.NestedString(obj, "status", "message")
	r.Aborted, _, _ = unstructured.NestedBool(obj, "status", "abort")
	r.PromoteFull, _, _ = unstructured.NestedBool(obj, "status", "promoteFull")
	r.StableHash, _, _ = unstructured.NestedString(obj, "status", "stableRS")
	r.CurrentHash, _, _ = unstructured.NestedString(obj, "status", "currentPodHash")
	if r.CurrentHash != r.StableHash {
		r.CanaryHash = r.CurrentHash
	}
	r.Selector, _, _ = unstructured.NestedString(obj, "status", "selector")
	r.ObservedGen, _, _ = unstructured.NestedString(obj, "status", "observedGeneration")
	r.Replicas, _, _ = unstructured.NestedInt64(obj, "status", "replicas")
	r.UpdatedReplicas, _, _ = unstructured.NestedInt64(obj, "status", "updatedReplicas")
	r.ReadyReplicas, _, _ = unstructured.NestedInt64(obj, "status", "readyReplicas")
	r.AvailableReplica, _, _ = unstructured.NestedInt64(obj, "status", "availableReplicas")
	conds, _, _ := unstructured.NestedSlice(obj, "status", "pauseConditions")
	r.pauseCondCount = len(conds)
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok {
			if reason, ok := m["reason"].(string); ok {
				r.PauseReasons = append(r.PauseReasons, reason)
			}
		}
	}
	r.Paused = r.specPaused || len(conds) > 0
	if idx, ok, _ := unstructured.NestedInt64(obj, "status", "currentStepIndex"); ok {
		i := int(idx)
		r.CurrentStepIndex = &i
		if i < len(steps) {
			r.CurrentStep = describeStep(steps[i])
		}
		for j := 0; j < len(steps) && j <= i; j++ {
			if m, ok := steps[j].(map[string]any); ok {
				if w, ok := m["setWeight"].(int64); ok {
					ww := int(w)
					r.SetWeight = &ww
				}
			}
		}
	}
	return r
}

func describeStep(s any) string {
	m, ok := s.(map[string]any)
	if !ok {
		return ""
	}
	for k, v := range m {
		switch k {
		case "setWeight":
			return fmt.Sprintf("setWeight %v", v)
		case "pause":
			if pm, ok := v.(map[string]any); ok && pm["duration"] != nil {
				return fmt.Sprintf("pause %v", pm["duration"])
			}
			return "pause (until promoted)"
		default:
			return k
		}
	}
	return ""
}

// GetRollout reads one Rollout.
func (c *Cluster) GetRollout(ctx context.Context, ns, name string) (*Rollout, error) {
	u, err := c.dyn.Resource(RolloutsGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, Explain(err, c.Server(), fmt.Sprintf("rollout %s/%s", ns, name))
	}
	return ParseRollout(u), nil
}

// PatchRollout applies merge patches: statusPatch on the status subresource (falling back to the whole
// object when the CRD predates the status subresource), then specPatch on the object. Either may be nil.
func (c *Cluster) PatchRollout(ctx context.Context, ns, name string, statusPatch, specPatch []byte) (*Rollout, error) {
	ri := c.dyn.Resource(RolloutsGVR).Namespace(ns)
	what := fmt.Sprintf("patch rollout %s/%s", ns, name)
	var u *unstructured.Unstructured
	var err error
	if statusPatch != nil {
		u, err = ri.Patch(ctx, name, types.MergePatchType, statusPatch, metav1.PatchOptions{}, "status")
		if apierrors.IsNotFound(err) {
			// Very old CRDs have no status subresource: the status is then part of the main object.
			if _, gerr := ri.Get(ctx, name, metav1.GetOptions{}); gerr == nil {
				u, err = ri.Patch(ctx, name, types.MergePatchType, statusPatch, metav1.PatchOptions{})
			}
		}
		if err != nil {
			return nil, Explain(err, c.Server(), what)
		}
	}
	if specPatch != nil {
		u, err = ri.Patch(ctx, name, types.MergePatchType, specPatch, metav1.PatchOptions{})
		if err != nil {
			return nil, Explain(err, c.Server(), what)
		}
	}
	if u == nil {
		return c.GetRollout(ctx, ns, name)
	}
	return ParseRollout(u), nil
}

// PromotePlan is what a promote or abort would send, decided from the rollout's current state.
type PromotePlan struct {
	StatusPatch []byte
	SpecPatch   []byte
	Action      string // human summary of the change
	Noop        bool   // nothing to do; the rollout already is where the action leads
}

// PlanPromote mirrors `kubectl argo rollouts promote [--full]`: clear pause conditions and unpause, or,
// when not paused mid-canary (running analysis), skip the current step; --full sets promoteFull.
// It refuses (error) when promoting makes no sense.
func PlanPromote(r *Rollout, full bool) (*PromotePlan, error) {
	if r.Aborted {
		return nil, fmt.Errorf("rollout %s/%s is aborted: promoting would not resume it; retry it (kubectl argo rollouts retry rollout %s -n %s) or deploy a new revision", r.Namespace, r.Name, r.Name, r.Namespace)
	}
	if full {
		if !r.CanaryInFlight() && !r.Paused {
			return &PromotePlan{Noop: true, Action: "already fully promoted: the stable revision is the current one"}, nil
		}
		if r.PromoteFull {
			return &PromotePlan{Noop: true, Action: "full promotion already requested; the controller is applying it"}, nil
		}
		p := &PromotePlan{StatusPatch: []byte(`{"status":{"promoteFull":true}}`), Action: "full promotion: skip remaining steps and analysis"}
		if r.specPaused {
			p.SpecPatch = []byte(`{"spec":{"paused":false}}`)
		}
		return p, nil
	}
	if !r.Paused && !r.CanaryInFlight() {
		return &PromotePlan{Noop: true, Action: "already fully promoted: nothing is paused and no canary is in flight"}, nil
	}
	p := &PromotePlan{}
	if r.specPaused {
		p.SpecPatch = []byte(`{"spec":{"paused":false}}`)
		p.Action = "unpause"
	}
	switch {
	case r.pauseCondCount > 0:
		p.StatusPatch = []byte(`{"status":{"pauseConditions":null}}`)
		p.Action = "clear pause conditions: continue to the next step"
	case r.Strategy == "canary" && r.Steps > 0 && !r.specPaused:
		idx := 0
		if r.CurrentStepIndex != nil {
			idx = *r.CurrentStepIndex
		}
		if idx < r.Steps {
			idx++
		}
		p.StatusPatch = fmt.Appendf(nil, `{"status":{"pauseConditions":null,"currentStepIndex":%d}}`, idx)
		p.Action = fmt.Sprintf("skip the current step: go to step %d of %d", idx, r.Steps)
	}
	if p.StatusPatch == nil && p.SpecPatch == nil {
		return nil, fmt.Errorf("rollout %s/%s (%s, phase %s) has nothing to promote: it is not paused and has no canary steps left", r.Namespace, r.Name, r.Strategy, r.Phase)
	}
	return p, nil
}

// PlanAbort mirrors `kubectl argo rollouts abort`. Aborting an aborted rollout is a no-op; aborting one
// with no update in progress is refused.
func PlanAbort(r *Rollout) (*PromotePlan, error) {
	if r.Aborted {
		return &PromotePlan{Noop: true, Action: "already aborted"}, nil
	}
	if !r.CanaryInFlight() {
		return nil, fmt.Errorf("rollout %s/%s has no update in progress (current revision %s is stable, phase %s): nothing to abort", r.Namespace, r.Name, r.CurrentHash, r.Phase)
	}
	return &PromotePlan{StatusPatch: []byte(`{"status":{"abort":true}}`), Action: "abort: scale the canary down and send all traffic to stable"}, nil
}
