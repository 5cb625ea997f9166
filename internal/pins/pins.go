//go:build tools

// Package pins keeps the pinned library versions in go.mod while the code that uses them lands.
// The pins matter: the module proxy's @latest is wrong for mcp-go and a2a-go.
package pins

import (
	_ "github.com/a2aproject/a2a-go/v2/a2asrv"
	_ "github.com/google/go-github/v66/github"
	_ "github.com/mark3labs/mcp-go/server"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/spf13/cobra"
	_ "github.com/sst/opencode-sdk-go"
	_ "google.golang.org/genai"
	_ "k8s.io/client-go/kubernetes"
	_ "modernc.org/sqlite"
	_ "sigs.k8s.io/yaml"
)
