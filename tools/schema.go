package tools

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/mark3labs/mcp-go/mcp"
)

// Single-type schemas: the generator writes a nil-able Go field (slice, map, pointer) as
// `"type": ["null", "array"]`, which single-type dialects (Gemini function calling, the MCP Inspector's
// strict lint) reject. fixloop instead states each property's one type and leaves nil-able properties
// out of "required"; results drop null values (dropNulls) so they still match the schema.

// singleTypeSchemas rewrites the tool's input and output schemas in place.
func singleTypeSchemas(t *mcp.Tool) {
	raw, err := json.Marshal(t)
	if err != nil {
		panic(fmt.Sprintf("tools: %s: encode definition: %v", t.Name, err)) // programming error, caught by any test
	}
	var def struct {
		In  map[string]any `json:"inputSchema"`
		Out map[string]any `json:"outputSchema"`
	}
	if err := json.Unmarshal(raw, &def); err != nil {
		panic(fmt.Sprintf("tools: %s: decode definition: %v", t.Name, err))
	}
	if def.In != nil {
		singleType(def.In)
		t.InputSchema = mcp.ToolInputSchema{}
		t.RawInputSchema, _ = json.Marshal(def.In)
	}
	if def.Out != nil {
		singleType(def.Out)
		t.OutputSchema = mcp.ToolOutputSchema{}
		t.RawOutputSchema, _ = json.Marshal(def.Out)
	}
}

// singleType walks a schema: a type list with "null" becomes its other type, and properties that were
// nullable are no longer required.
func singleType(s map[string]any) (nullable bool) {
	if types, ok := s["type"].([]any); ok {
		var rest []any
		for _, ty := range types {
			if ty == "null" {
				nullable = true
			} else {
				rest = append(rest, ty)
			}
		}
		if len(rest) == 1 {
			s["type"] = rest[0]
		} else {
			s["type"] = rest
		}
	}
	if props, ok := s["properties"].(map[string]any); ok {
		req, _ := s["required"].([]any)
		for name, p := range props {
			if ps, ok := p.(map[string]any); ok && singleType(ps) {
				req = slices.DeleteFunc(req, func(r any) bool { return r == name })
			}
		}
		if _, had := s["required"]; had {
			s["required"] = req
		}
	}
	for _, key := range []string{"items", "additionalProperties"} {
		if sub, ok := s[key].(map[string]any); ok {
			singleType(sub)
		}
	}
	for _, key := range []string{"$defs", "definitions"} {
		if defs, ok := s[key].(map[string]any); ok {
			for _, d := range defs {
				if ds, ok := d.(map[string]any); ok {
					singleType(ds)
				}
			}
		}
	}
	for _, key := range []string{"anyOf", "oneOf", "allOf"} {
		if list, ok := s[key].([]any); ok {
			for _, d := range list {
				if ds, ok := d.(map[string]any); ok {
					singleType(ds)
				}
			}
		}
	}
	return nullable
}

// dropNulls returns v as generic JSON with null object members removed (a nil slice is "absent", which
// the single-type output schema allows, where null would not validate).
func dropNulls(v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var g any
	if err := json.Unmarshal(raw, &g); err != nil {
		return nil, err
	}
	return prune(g), nil
}

func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
				continue
			}
			x[k] = prune(e)
		}
	case []any:
		for i, e := range x {
			x[i] = prune(e)
		}
	}
	return v
}
