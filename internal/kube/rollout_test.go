package kube

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func rollout(t *testing.T, y string) *Rollout {
	t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(y), &obj); err != nil {
		t.Fatal(err)
	}
	// JSON numbers decode as float64; the API server's decoder gives int64, as NestedInt64 expects.
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(mustJSON(t, obj)); err != nil {
		t.Fatal(err)
	}
	return ParseRollout(u)
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

const base = `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web, namespace: shop}
spec:
  strategy:
    canary:
      steps: [{setWeight: 20}, {pause: {}}, {setWeight: 50}, {analysis: {templates: [{templateName: t}]}}]
`

func TestPlanPromoteAndAbort(t *testing.T) {
	cases := []struct {
		name, status string
		specPaused   bool
		full         bool
		wantStatus   string
		wantSpec     string
		wantNoop     bool
		wantErr      string
		abortWant    string
		abortNoop    bool
		abortErr     string
	}{
		{name: "paused at pause step", status: `{stableRS: a, currentPodHash: b, currentStepIndex: 1, pauseConditions: [{reason: CanaryPauseStep}]}`,
			wantStatus: `{"status":{"pauseConditions":null}}`, abortWant: `{"status":{"abort":true}}`},
		{name: "spec paused too", specPaused: true, status: `{stableRS: a, currentPodHash: b, currentStepIndex: 1, pauseConditions: [{reason: CanaryPauseStep}]}`,
			wantStatus: `{"status":{"pauseConditions":null}}`, wantSpec: `{"spec":{"paused":false}}`, abortWant: `{"status":{"abort":true}}`},
		{name: "running analysis: skip step", status: `{stableRS: a, currentPodHash: b, currentStepIndex: 3}`,
			wantStatus: `{"status":{"pauseConditions":null,"currentStepIndex":4}}`, abortWant: `{"status":{"abort":true}}`},
		{name: "full", full: true, status: `{stableRS: a, currentPodHash: b, currentStepIndex: 1, pauseConditions: [{reason: CanaryPauseStep}]}`,
			wantStatus: `{"status":{"promoteFull":true}}`, abortWant: `{"status":{"abort":true}}`},
		{name: "fully promoted", status: `{stableRS: a, currentPodHash: a, currentStepIndex: 4, phase: Healthy}`,
			wantNoop: true, abortErr: "nothing to abort"},
		{name: "aborted", status: `{stableRS: a, currentPodHash: b, currentStepIndex: 0, abort: true, phase: Degraded}`,
			wantErr: "is aborted", abortNoop: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			y := base + "status: " + c.status + "\n"
			if c.specPaused {
				y = strings.Replace(y, "spec:\n", "spec:\n  paused: true\n", 1)
			}
			r := rollout(t, y)
			p, err := PlanPromote(r, c.full)
			switch {
			case c.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("promote err = %v, want %q", err, c.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			default:
				if p.Noop != c.wantNoop || string(p.StatusPatch) != c.wantStatus || string(p.SpecPatch) != c.wantSpec {
					t.Errorf("promote plan = noop %v status %s spec %s; want noop %v status %s spec %s", p.Noop, p.StatusPatch, p.SpecPatch, c.wantNoop, c.wantStatus, c.wantSpec)
				}
			}
			a, err := PlanAbort(r)
			switch {
			case c.abortErr != "":
				if err == nil || !strings.Contains(err.Error(), c.abortErr) {
					t.Fatalf("abort err = %v, want %q", err, c.abortErr)
				}
			case err != nil:
				t.Fatal(err)
			default:
				if a.Noop != c.abortNoop || (!a.Noop && string(a.StatusPatch) != c.abortWant) {
					t.Errorf("abort plan = %+v", a)
				}
			}
		})
	}
}

func TestParseRollout(t *testing.T) {
	r := rollout(t, base+"status: {stableRS: a, currentPodHash: b, currentStepIndex: 2, selector: app=web, phase: Paused}\n")
	if r.SetWeight == nil || *r.SetWeight != 50 || r.CurrentStep != "setWeight 50" || r.CanaryHash != "b" || r.Steps != 4 || r.Selector != "app=web" {
		t.Errorf("parsed %+v", r)
	}
}
