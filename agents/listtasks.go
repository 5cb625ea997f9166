package agents

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"

	"github.com/fixloop/fixloop/internal/store"
)

// rpcPeek is the part of a JSON-RPC request the host reads before handing it to a2a-go.
type rpcPeek struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

// checkListParams validates ListTasks parameters where a2a-go's decoder would answer a parse error
// (-32700) for a well-formed request with a bad value (a timestamp that is not RFC 3339, a string page
// size) or cannot see the mistake at all (an explicit pageSize 0). The spec wants invalid params (-32602).
func checkListParams(raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var p map[string]json.RawMessage
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("params must be an object: %w", a2a.ErrInvalidParams)
	}
	if v, ok := p["pageSize"]; ok {
		var n int
		if json.Unmarshal(v, &n) != nil || n < 1 || n > 100 {
			return fmt.Errorf("pageSize must be an integer between 1 and 100, got %s: %w", v, a2a.ErrInvalidParams)
		}
	}
	if v, ok := p["historyLength"]; ok {
		var n int
		if json.Unmarshal(v, &n) != nil || n < 0 {
			return fmt.Errorf("historyLength must be a non-negative integer, got %s: %w", v, a2a.ErrInvalidParams)
		}
	}
	if v, ok := p["statusTimestampAfter"]; ok {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return fmt.Errorf("statusTimestampAfter must be an RFC 3339 timestamp string: %w", a2a.ErrInvalidParams)
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return fmt.Errorf("statusTimestampAfter %q is not an RFC 3339 timestamp: %w", s, a2a.ErrInvalidParams)
		}
	}
	for _, k := range []string{"status", "pageToken", "contextId"} {
		if v, ok := p[k]; ok {
			var s string
			if json.Unmarshal(v, &s) != nil {
				return fmt.Errorf("%s must be a string: %w", k, a2a.ErrInvalidParams)
			}
		}
	}
	var req a2a.ListTasksRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return fmt.Errorf("%v: %w", err, a2a.ErrInvalidParams)
	}
	return store.CheckListTasks(&req)
}

// writeInvalidParams answers a JSON-RPC request with error -32602.
func writeInvalidParams(w http.ResponseWriter, id json.RawMessage, err error) {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": id,
		"error": map[string]any{"code": -32602, "message": err.Error()}})
}
