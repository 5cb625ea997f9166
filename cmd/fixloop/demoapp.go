package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/fixloop/fixloop/internal/demoapp"
)

func init() { rootCmd.AddCommand(newDemoAppCmd()) }

// newDemoAppCmd runs the test environment's workload; the pod supervisor starts one per demo pod.
func newDemoAppCmd() *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:    "demo-app",
		Short:  "Run the demo web service (knobs from env: COLOR, ERROR_RATE, LATENCY_MS, PANIC_RATE, ...)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := demoapp.ConfigFromEnv(os.Getenv)
			if err != nil {
				return usageError("%v", err)
			}
			return demoapp.Run(cmd.Context(), listen, cfg, os.Stdout)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address to serve on")
	return cmd
}
