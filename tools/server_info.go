package tools

import (
	"context"
	"slices"

	"github.com/fixloop/fixloop/internal/monitor"
)

// ServerInfoInput takes no arguments.
type ServerInfoInput struct{}

// ServerInfoOutput says which backends this fixloop is connected to, so a user can check the setup.
type ServerInfoOutput struct {
	Version    string   `json:"version" jsonschema:"fixloop version"`
	Cluster    string   `json:"cluster" jsonschema:"Kubernetes API server URL, or empty when no cluster is configured"`
	Prometheus string   `json:"prometheus" jsonschema:"Prometheus URL, or empty when none is configured"`
	ReadOnly   bool     `json:"readOnly" jsonschema:"true when write tools (promote, abort, open issue) are not registered"`
	Toolsets   []string `json:"toolsets" jsonschema:"toolsets compiled into this server"`
	Problems   []string `json:"problems,omitempty" jsonschema:"missing configuration, each naming the setting to fix"`
	// Monitor says whether this process runs the health monitor and which replica holds its lease.
	Monitor *monitor.Info `json:"monitor,omitempty"`
}

// ServerInfo reports the configuration; it never touches the network, so it is also the cheap call used
// to measure MCP overhead.
func ServerInfo(_ context.Context, d Deps, _ ServerInfoInput) (*ServerInfoOutput, error) {
	out := &ServerInfoOutput{Version: d.Version, ReadOnly: d.ReadOnly, Toolsets: slices.Clone(Toolsets())}
	if d.Kube != nil {
		out.Cluster = d.Kube.Server()
	} else {
		out.Problems = append(out.Problems, "no cluster configured: set KUBECONFIG or --kubeconfig")
	}
	if d.Prom != nil {
		out.Prometheus = d.Prom.URL()
	} else {
		out.Problems = append(out.Problems, "no Prometheus configured: set FIXLOOP_PROMETHEUS_URL or --prometheus-url")
	}
	if info := d.Monitor.Info(); info.Enabled {
		out.Monitor = &info
	}
	return out, nil
}

func init() {
	Add(Spec{
		Name:        "server_info",
		Title:       "fixloop server info",
		Description: "Show which Kubernetes cluster and Prometheus this fixloop server is connected to, its version, whether it is read-only, and any missing configuration. Call it first when other tools report configuration errors.",
		Toolset:     ToolsetCore,
		Idempotent:  true,
	}, ServerInfo)
}
