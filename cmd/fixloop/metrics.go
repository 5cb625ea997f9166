package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fixloop/fixloop/internal/config"
	"github.com/fixloop/fixloop/tools"
)

func init() { rootCmd.AddCommand(newMetricsCmd()) }

func newMetricsCmd() *cobra.Command {
	m := &cobra.Command{Use: "metrics", Short: "Prometheus metrics: which sources a rollout's HTTP metrics come from"}
	var asJSON bool
	src := &cobra.Command{
		Use:   "sources <namespace>/<rollout>",
		Short: "Show which known metric sources (app, mesh, ingress) have series for a rollout's stable and canary pods",
		Long: `Asks Prometheus which known HTTP metric sources (Prometheus client libraries, Micrometer, OpenTelemetry,
Istio, Linkerd, ingress-nginx, Traefik, Envoy) have series for the rollout's stable and canary pods (or
their Services, with Argo traffic routing), which one compare_canary uses, and why the others are missing.
The annotation fixloop.dev/metrics-source on the rollout forces a source; prometheus.promql in the
configuration overrides single queries.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 || !strings.Contains(args[0], "/") {
				return usageError("metrics sources takes one <namespace>/<rollout> (got %q)", args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, name, _ := strings.Cut(args[0], "/")
			if ns == "" || name == "" {
				return usageError("metrics sources: %q is not <namespace>/<rollout>", args[0])
			}
			cfg, err := config.Load(cmd.Flags(), nil)
			if err != nil {
				return usageError("%v", err)
			}
			d, err := buildDeps(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				return err
			}
			out, err := tools.MetricsSources(cmd.Context(), d, ns, name)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			printSources(cmd.OutOrStdout(), out)
			return nil
		},
	}
	src.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	config.AddFlags(src.Flags())
	m.AddCommand(src)
	return m
}

func printSources(w io.Writer, out *tools.MetricsSourcesOutput) {
	fmt.Fprintf(w, "rollout %s/%s: %d stable, %d canary pods; %s\n", out.Namespace, out.Rollout, out.Pods[0], out.Pods[1], out.Routing)
	fmt.Fprintln(w, out.Summary)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tKIND\tFOUND\tREQUEST SERIES\tLATENCY SERIES\tWHY")
	for _, c := range out.Discovery.Candidates {
		mark := "missing"
		if c.Found {
			mark = "found"
		}
		if c.Source == out.Discovery.Traffic {
			mark = "USED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%v\t%s\n", c.Source, c.Kind, mark, c.Requests, c.Latency, c.Why)
	}
	_ = tw.Flush()
	if len(out.Discovery.Resources) > 0 {
		fmt.Fprintf(w, "resource series missing for some pods: %s\n", strings.Join(out.Discovery.Resources, ", "))
	}
}
