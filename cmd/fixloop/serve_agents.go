package main

import (
	"log/slog"
	"net/http"

	"github.com/fixloop/fixloop/internal/config"
	"github.com/fixloop/fixloop/tools"
)

// mountAgents adds the A2A agent routes (and the Argo Rollouts AI metric plugin route) to the serve mux.
// Owned by the agents engineer; serve.go calls it after /mcp, /healthz, /readyz and /metrics are mounted.
func mountAgents(mux *http.ServeMux, cfg *config.Config, deps tools.Deps, logger *slog.Logger) error {
	return nil
}
