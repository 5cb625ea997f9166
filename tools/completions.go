package tools

import (
	"context"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/fixloop/fixloop/skills"
)

// Completer suggests values for prompt and resource-template arguments from what fixloop can see:
// namespaces, rollouts and workloads in the cluster, playbook names, issue fingerprints. An argument it
// knows nothing about gets an empty list (the spec's answer for "no suggestions").
type Completer struct {
	Deps    Deps
	Records Records // nil: no fingerprint suggestions
}

const maxCompletions = 100 // the spec caps a completion list at 100 values

// CompletePromptArgument implements server.PromptCompletionProvider.
func (c Completer) CompletePromptArgument(ctx context.Context, _ string, arg mcp.CompleteArgument, cc mcp.CompleteContext) (*mcp.Completion, error) {
	return c.complete(ctx, arg, cc), nil
}

// CompleteResourceArgument implements server.ResourceCompletionProvider.
func (c Completer) CompleteResourceArgument(ctx context.Context, _ string, arg mcp.CompleteArgument, cc mcp.CompleteContext) (*mcp.Completion, error) {
	return c.complete(ctx, arg, cc), nil
}

func (c Completer) complete(ctx context.Context, arg mcp.CompleteArgument, cc mcp.CompleteContext) *mcp.Completion {
	ns := cc.Arguments["namespace"]
	var all []string
	switch arg.Name {
	case "namespace":
		all, _ = ListNamespaces(ctx, c.Deps)
	case "rollout":
		if ns != "" {
			all, _ = ListRollouts(ctx, c.Deps, ns)
		}
	case "workload":
		if ns != "" {
			all, _ = ListWorkloads(ctx, c.Deps, ns)
		}
	case "name":
		for _, s := range skills.All() {
			all = append(all, s.Name)
		}
	case "fingerprint":
		if c.Records != nil {
			is, _ := c.Records.ListIssues(ctx)
			for _, i := range is {
				all = append(all, i.Fingerprint)
			}
		}
	}
	matches := WithPrefix(all, strings.TrimSpace(arg.Value), len(all)+1)
	values := append([]string{}, matches[:min(len(matches), maxCompletions)]...)
	return &mcp.Completion{Values: values, Total: len(matches), HasMore: len(matches) > len(values)}
}
