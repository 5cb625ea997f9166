package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/fixloop/fixloop/internal/testenv"
)

func init() { rootCmd.AddCommand(newTestenvCmd()) }

func defaultTestenvDir() string {
	if d := os.Getenv("FIXLOOP_TESTENV_DIR"); d != "" {
		return d
	}
	return ".testenv"
}

// newTestenvCmd drives the local test cluster: up, down, status (and the hidden supervisor).
func newTestenvCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "testenv",
		Short: "Run the local test cluster (etcd, kube-apiserver, controller-manager, scheduler, kwok, Argo Rollouts, Prometheus)",
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", defaultTestenvDir(), "state directory ($FIXLOOP_TESTENV_DIR)")

	var nodes int
	up := &cobra.Command{
		Use:   "up",
		Short: "Start the environment and return once every component is ready",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Minute)
			defer cancel()
			begin := time.Now()
			e, err := testenv.Start(ctx, testenv.Options{Dir: dir, Nodes: nodes, Progress: cmd.ErrOrStderr()})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "test environment ready in %s (state in %s)\n", time.Since(begin).Round(100*time.Millisecond), e.Dir)
			fmt.Fprintf(out, "kubeconfig:  %s\n", e.Kubeconfig)
			fmt.Fprintf(out, "apiserver:   %s\n", e.APIServerURL)
			fmt.Fprintf(out, "prometheus:  %s\n", e.PrometheusURL)
			fmt.Fprintf(out, "try:         export KUBECONFIG=%s FIXLOOP_TESTENV_DIR=%s\n", e.Kubeconfig, e.Dir)
			return nil
		},
	}
	up.Flags().IntVar(&nodes, "nodes", 2, "number of kwok nodes")

	down := &cobra.Command{
		Use:   "down",
		Short: "Stop every process of the environment and wait until its ports are free",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := testenv.Stop(dir); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "test environment in %s stopped\n", dir)
			return nil
		},
	}

	status := &cobra.Command{
		Use:   "status",
		Short: "Show whether the environment runs and where to reach it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := testenv.Load(dir)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "running (state in %s)\nkubeconfig:  %s\napiserver:   %s\n", e.Dir, e.Kubeconfig, e.APIServerURL)
			c := &http.Client{Timeout: 3 * time.Second}
			promState := "ready"
			if resp, err := c.Get(e.PrometheusURL + "/-/ready"); err != nil {
				promState = err.Error()
			} else {
				resp.Body.Close()
			}
			fmt.Fprintf(out, "prometheus:  %s (%s)\n", e.PrometheusURL, promState)
			rss, n := testenv.ResidentMemory(e.Dir)
			fmt.Fprintf(out, "memory:      %d MB resident in %d processes\n", rss>>20, n)
			for _, p := range testenv.Processes(e.Dir) {
				fmt.Fprintf(out, "  %-40s pid %-7d %s\n", p.Name, p.Pid, map[bool]string{true: "running", false: "DEAD"}[p.Alive])
			}
			return nil
		},
	}

	supervise := &cobra.Command{
		Use:    "supervise",
		Short:  "Run the pod supervisor (started by `testenv up`)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			return testenv.Supervise(cmd.Context(), abs, cmd.ErrOrStderr())
		},
	}
	cmd.AddCommand(up, down, status, supervise)
	return cmd
}
