// Package a2ainterop checks fixloop's A2A agents with the official A2A JS SDK client (npm @a2a-js/sdk,
// pinned in package-lock.json) against the real `fixloop serve`.
package a2ainterop

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/fixloop/fixloop/test/fixloopserve"
)

type streamed struct {
	TaskID     string   `json:"taskId"`
	ContextID  string   `json:"contextId"`
	FinalState any      `json:"finalState"`
	Texts      []string `json:"texts"`
	Artifacts  []struct {
		MediaType string         `json:"mediaType"`
		Data      map[string]any `json:"data"`
	} `json:"artifacts"`
}

func isState(v any, name string, number int) bool {
	return v == name || v == float64(number)
}

// "investigate shop" lacks the namespace: the agent asks (INPUT_REQUIRED, "which namespace?") and the
// answer "default", streamed into the same task, completes it with the result as a JSON data artifact.
func TestJSSDKConversation(t *testing.T) {
	fixloopserve.NpmCI(t, "@a2a-js/sdk")
	srv := fixloopserve.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "conversation.mjs", srv.Base, "investigate shop", "default")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("JS SDK conversation failed: %v\n%s\n%s\nserver log:\n%s", err, stdout.String(), stderr.String(), srv.Log())
	}
	var out struct {
		First, Second streamed
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("report %q: %v", stdout.String(), err)
	}
	t.Logf("report: %s", stdout.String())
	if !isState(out.First.FinalState, "TASK_STATE_INPUT_REQUIRED", 6) {
		t.Fatalf("first turn ended in %v, want input required", out.First.FinalState)
	}
	if q := strings.Join(out.First.Texts, " "); !strings.Contains(q, "Which namespace is shop in?") {
		t.Fatalf("question = %q", q)
	}
	if out.Second.TaskID != out.First.TaskID || !isState(out.Second.FinalState, "TASK_STATE_COMPLETED", 3) {
		t.Fatalf("second turn: task %s (first %s) ended in %v", out.Second.TaskID, out.First.TaskID, out.Second.FinalState)
	}
	if len(out.Second.Artifacts) != 1 || out.Second.Artifacts[0].MediaType != "application/json" ||
		out.Second.Artifacts[0].Data["namespace"] != "default" || out.Second.Artifacts[0].Data["workload"] != "shop" {
		t.Fatalf("artifacts = %+v", out.Second.Artifacts)
	}
}
