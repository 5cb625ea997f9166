package triage_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"

	"github.com/fixloop/fixloop/internal/testenv"
)

// investigate_service over A2A on the real cluster: a workload answering 30% 5xx is reported critical
// with the 5xx finding, the error templates of its pods and a fix plan with the fixer's sections.
func TestInvestigateServiceOnRealCluster(t *testing.T) {
	e := clusterTest(t)
	_, sinkURL := newSink(t)
	srv := startServe(t, e, sinkURL, "acme/shop")
	ns := e.NewNamespace(t, "investigate")
	e.DeployDemoRollout(t, ns, testenv.DemoRollout{Name: "sick", Replicas: 3, Env: map[string]string{"ERROR_RATE": "0.3"}})
	soak(t, e, ns, 8)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := a2aClient(t, srv.URL)
	res, err := c.SendMessage(ctx, &a2a.SendMessageRequest{Message: a2a.NewMessage(a2a.MessageRoleUser,
		a2a.NewDataPart(map[string]any{"skill": "investigate_service", "namespace": ns, "workload": "sick", "window": "5m"}))})
	if err != nil {
		t.Fatal(err)
	}
	task := res.(*a2a.Task)
	if task.Status.State != a2a.TaskStateCompleted || len(task.Artifacts) == 0 {
		t.Fatalf("task = %+v\n%s", task.Status, srv.log())
	}
	out := task.Artifacts[0].Parts[0].Data().(map[string]any)
	t.Logf("status %v, notes %v, logs %v, findings %v", out["status"], out["notes"], out["logs"], out["findings"])
	if out["status"] != "critical" {
		t.Errorf("status = %v, want critical", out["status"])
	}
	var found bool
	for _, f := range out["findings"].([]any) {
		m := f.(map[string]any)
		if m["check"] == "error_rate_5xx" && m["severity"] == "critical" {
			found = true
		}
	}
	if !found {
		t.Errorf("no critical error_rate_5xx finding: %v", out["findings"])
	}
	plan, _ := out["fixPlan"].(string)
	for _, sec := range []string{"## Repository", "## Summary", "## Root causes", "## Affected services", "## Recommendations", "## Debugging steps", "## Task", "error_rate_5xx"} {
		if !strings.Contains(plan, sec) {
			t.Errorf("fix plan lacks %q:\n%s", sec, plan)
		}
	}
	if logs, _ := out["logs"].([]any); len(logs) == 0 {
		t.Errorf("no error templates from the pods' logs")
	}
	t.Logf("fix plan:\n%s", plan)
}
