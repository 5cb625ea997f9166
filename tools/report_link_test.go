package tools

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// A verdict's tool result links its report page as a resource_link beside the JSON; a result without
// a report (no state store) carries none.
func TestToolResultLinksTheReport(t *testing.T) {
	const url = "https://fixloop.example/reports/0123456789abcdef0123456789abcdef"
	for _, c := range []struct {
		report string
		links  int
	}{{url, 1}, {"", 0}} {
		fn := func(context.Context, Deps, struct{}) (*CompareCanaryOutput, error) {
			return &CompareCanaryOutput{Report: c.report}, nil
		}
		h := handler(Deps{}, "compare_canary", time.Minute, newArgValidator("compare_canary", json.RawMessage(`{"type":"object"}`)), fn)
		res, err := h(context.Background(), mcp.CallToolRequest{})
		if err != nil || res.IsError {
			t.Fatalf("%v %+v", err, res)
		}
		var links []mcp.ResourceLink
		for _, content := range res.Content {
			if l, ok := content.(mcp.ResourceLink); ok {
				links = append(links, l)
			}
		}
		if len(links) != c.links {
			t.Fatalf("report %q: %d resource links, want %d: %+v", c.report, len(links), c.links, res.Content)
		}
		if c.links == 1 && (links[0].URI != url || links[0].Type != mcp.ContentTypeLink || links[0].MIMEType != "text/html") {
			t.Errorf("link %+v", links[0])
		}
		if _, ok := res.Content[0].(mcp.TextContent); !ok {
			t.Errorf("the JSON text must stay the first content block: %+v", res.Content)
		}
	}
}
