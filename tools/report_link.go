package tools

import "github.com/mark3labs/mcp-go/mcp"

// reportLinked is a tool output that names a verdict's page; its tool result then carries the page as
// a resource_link content block besides the JSON, so an MCP client can show or open it.
type reportLinked interface{ reportURL() string }

func (o *CompareCanaryOutput) reportURL() string { return o.Report }

// reportLink is the resource_link of out's report, if it has one.
func reportLink(out any) []mcp.Content {
	r, ok := out.(reportLinked)
	if !ok || r.reportURL() == "" {
		return nil
	}
	link := mcp.NewResourceLink(r.reportURL(), "verdict-report", "The verdict's page: verdict, stable vs canary charts, log template diff, links to the issue and the fix", "text/html")
	link.Title = "Verdict report"
	return []mcp.Content{link}
}
