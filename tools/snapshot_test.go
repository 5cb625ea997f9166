package tools

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestToolListSnapshot pins the MCP surface (names, schemas, annotations, toolsets) so any change shows
// in review. Refresh with UPDATE_SNAPSHOTS=1 go test ./tools -run TestToolListSnapshot.
func TestToolListSnapshot(t *testing.T) {
	type entry struct {
		Toolset string          `json:"toolset"`
		Write   bool            `json:"write"`
		Tool    json.RawMessage `json:"tool"`
	}
	var got []entry
	for _, tl := range All(Deps{}) {
		raw, err := json.Marshal(tl.Tool)
		if err != nil {
			t.Fatalf("marshal %s: %v", tl.Tool.Name, err)
		}
		got = append(got, entry{Toolset: tl.Toolset, Write: tl.Write, Tool: raw})
	}
	data, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, '\n')
	path := filepath.Join("testdata", "tools.json")
	if os.Getenv("UPDATE_SNAPSHOTS") != "" {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (create it with UPDATE_SNAPSHOTS=1)", err)
	}
	if string(want) != string(data) {
		t.Errorf("tool list differs from %s; if the change is intended, run UPDATE_SNAPSHOTS=1 go test ./tools -run TestToolListSnapshot and review the diff.\ngot:\n%s", path, data)
	}
}
