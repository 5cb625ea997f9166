package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// A verdict resource is its A2A task's result: over A2A only the task's creator could read it, but
// fixloop://verdicts/{taskId} served it to any MCP caller with the id. Now another caller is told there
// is no such task; the creator and an admin read it.
func TestVerdictResourceOnlyForTheTasksCreator(t *testing.T) {
	s := newAuthServer(t, nil)
	r := s.post(t, "/agents/triage", s.tokens["writer"], `{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":`+
		`{"messageId":"m-owner","role":"ROLE_USER","parts":[{"data":{"skill":"investigate_service","namespace":"shop","workload":"api"}}]}}}`)
	var sent struct {
		Result struct {
			Task struct{ ID string } `json:"task"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(r.body), &sent); err != nil || sent.Result.Task.ID == "" {
		t.Fatalf("SendMessage as writer: %d %s", r.code, r.body)
	}
	read := func(who string) map[string]any {
		return s.mcpSession(t, s.tokens[who])("resources/read", map[string]any{"uri": "fixloop://verdicts/" + sent.Result.Task.ID})
	}
	for _, who := range []string{"writer", "admin"} {
		if out := read(who); out["error"] != nil || !strings.Contains(toJSON(out["result"]), `\"workload\": \"api\"`) {
			t.Fatalf("%s reading its verdict: %v", who, out)
		}
	}
	out := read("reader")
	if e, _ := out["error"].(map[string]any); e == nil || !strings.Contains(toJSON(e), "no task") || strings.Contains(toJSON(out), "workload") {
		t.Fatalf("another caller read the verdict: %v", out)
	}
}

func toJSON(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}
