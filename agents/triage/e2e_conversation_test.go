package triage_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2aclient"

	"github.com/fixloop/fixloop/agents"
	"github.com/fixloop/fixloop/internal/testenv"
)

func say(t *testing.T, c *a2aclient.Client, task *a2a.Task, text string) *a2a.Task {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	msg := a2a.NewMessage(a2a.MessageRoleUser, a2a.NewTextPart(text))
	if task != nil {
		msg = a2a.NewMessageForTask(a2a.MessageRoleUser, task, a2a.NewTextPart(text))
	}
	res, err := c.SendMessage(ctx, &a2a.SendMessageRequest{Message: msg})
	if err != nil {
		t.Fatalf("%q: %v", text, err)
	}
	got, ok := res.(*a2a.Task)
	if !ok {
		t.Fatalf("%q: answer %#v is not a task", text, res)
	}
	return got
}

// candidatesOf reads the question's data part.
func candidatesOf(task *a2a.Task) []string {
	var out []string
	for _, p := range task.Status.Message.Parts {
		if d, ok := p.Data().(map[string]any); ok {
			for _, c := range d["candidates"].([]any) {
				out = append(out, c.(string))
			}
		}
	}
	return out
}

// Questions carry what the cluster shows: a misspelt rollout gets the rollouts of the namespace, a
// workload without its namespace gets the namespaces that hold it; the answer then runs the skill.
func TestQuestionsOfferWhatTheClusterHolds(t *testing.T) {
	e := clusterTest(t)
	_, sinkURL := newSink(t)
	srv := startServe(t, e, sinkURL, "acme/shop")
	ns := e.NewNamespace(t, "conversation")
	e.DeployDemoRollout(t, ns, testenv.DemoRollout{Name: "colors", Replicas: 1})
	c := a2aClient(t, srv.URL)

	typo := say(t, c, nil, "the canary of colorz in "+ns)
	if typo.Status.State != a2a.TaskStateInputRequired || !strings.Contains(agents.MessageText(typo.Status.Message), "There is no rollout colorz") ||
		!slices.Contains(candidatesOf(typo), "colors") {
		t.Fatalf("misspelt rollout: %s %q candidates %v", typo.Status.State, agents.MessageText(typo.Status.Message), candidatesOf(typo))
	}

	where := say(t, c, nil, "investigate colors")
	if where.Status.State != a2a.TaskStateInputRequired || !slices.Equal(candidatesOf(where), []string{ns}) {
		t.Fatalf("namespace question: %s %q candidates %v", where.Status.State, agents.MessageText(where.Status.Message), candidatesOf(where))
	}
	done := say(t, c, where, ns)
	if done.Status.State != a2a.TaskStateCompleted || len(done.Artifacts) == 0 {
		t.Fatalf("after the answer: %s %q\n%s", done.Status.State, agents.MessageText(done.Status.Message), srv.log())
	}
	out := done.Artifacts[0].Parts[0].Data().(map[string]any)
	if out["namespace"] != ns || !strings.HasSuffix(out["workload"].(string), "colors") {
		t.Fatalf("investigated %v/%v", out["namespace"], out["workload"])
	}
}
