package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

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
	cmd.AddCommand(newTestenvUpCmd(&dir), newTestenvDownCmd(&dir), newTestenvStatusCmd(&dir), newTestenvSuperviseCmd(&dir),
		newDeployDemoCmd(&dir), newUpdateDemoCmd(&dir))
	return cmd
}

// newTestenvUpCmd starts the environment and prints where to reach it.
func newTestenvUpCmd(dir *string) *cobra.Command {
	var nodes int
	up := &cobra.Command{
		Use:   "up",
		Short: "Start the environment and return once every component is ready",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Minute)
			defer cancel()
			begin := time.Now()
			e, err := testenv.Start(ctx, testenv.Options{Dir: *dir, Nodes: nodes, Progress: cmd.ErrOrStderr()})
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
	return up
}

// newTestenvDownCmd stops the environment.
func newTestenvDownCmd(dir *string) *cobra.Command {
	down := &cobra.Command{
		Use:   "down",
		Short: "Stop every process of the environment and wait until its ports are free",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := testenv.Stop(*dir); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "test environment in %s stopped\n", *dir)
			return nil
		},
	}
	return down
}

// newTestenvStatusCmd shows whether the environment runs, its processes and memory.
func newTestenvStatusCmd(dir *string) *cobra.Command {
	status := &cobra.Command{
		Use:   "status",
		Short: "Show whether the environment runs and where to reach it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := testenv.Load(*dir)
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
	return status
}

// newTestenvSuperviseCmd runs the pod supervisor in the foreground (testenv up starts it).
func newTestenvSuperviseCmd(dir *string) *cobra.Command {
	supervise := &cobra.Command{
		Use:    "supervise",
		Short:  "Run the pod supervisor (started by `testenv up`)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			abs, err := filepath.Abs(*dir)
			if err != nil {
				return err
			}
			return testenv.Supervise(cmd.Context(), abs, cmd.ErrOrStderr())
		},
	}
	return supervise
}

func parseEnvFlags(kvs []string) (map[string]string, error) {
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError("--env %q: want KEY=VALUE (e.g. ERROR_RATE=0.2)", kv)
		}
		m[k] = v
	}
	return m, nil
}

// newDeployDemoCmd deploys the demo app as an Argo Rollout (the shell-side twin of DeployDemoRollout).
func newDeployDemoCmd(dir *string) *cobra.Command {
	var ns, name, color string
	var replicas int32
	var envs []string
	cmd := &cobra.Command{
		Use:   "deploy-demo",
		Short: "Deploy the demo app as an Argo Rollout (canary 20% → pause → 50% → pause) and wait until Healthy",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := parseEnvFlags(envs)
			if err != nil {
				return err
			}
			e, err := testenv.Load(*dir)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 4*time.Minute)
			defer cancel()
			cs, err := kubernetes.NewForConfig(e.RestConfig)
			if err != nil {
				return err
			}
			_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("creating namespace %s: %w", ns, err)
			}
			// Pods are refused until the namespace's default service account exists.
			for {
				if _, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{}); err == nil {
					break
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("namespace %s has no default service account: %w", ns, ctx.Err())
				case <-time.After(200 * time.Millisecond):
				}
			}
			if err := e.DeployDemo(ctx, ns, testenv.DemoRollout{Name: name, Replicas: replicas, Env: env, Color: color}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rollout %s/%s is Healthy with %d pods backed by local demo-app processes\n", ns, name, replicas)
			return nil
		},
	}
	cmd.Flags().StringVarP(&ns, "namespace", "n", "demo", "namespace (created if missing)")
	cmd.Flags().StringVar(&name, "name", "rollouts-demo", "Rollout and Service name")
	cmd.Flags().StringVar(&color, "color", "blue", "COLOR of the stable version")
	cmd.Flags().Int32Var(&replicas, "replicas", 5, "replicas")
	cmd.Flags().StringArrayVar(&envs, "env", nil, "demo app knob KEY=VALUE (ERROR_RATE, CLIENT_ERROR_RATE, LATENCY_MS, PANIC_RATE, LEAK_MB_PER_MIN, CRASH_AFTER, ERROR_BURST=after/for, LOG_FORMAT); repeatable")
	return cmd
}

// newUpdateDemoCmd changes the demo Rollout's env: a new revision, so Argo starts a canary.
func newUpdateDemoCmd(dir *string) *cobra.Command {
	var ns, name string
	var envs []string
	cmd := &cobra.Command{
		Use:   "update-demo",
		Short: "Roll out a new demo app revision by changing its env knobs (KEY= removes a knob)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := parseEnvFlags(envs)
			if err != nil {
				return err
			}
			if len(env) == 0 {
				return usageError("update-demo needs at least one --env KEY=VALUE")
			}
			e, err := testenv.Load(*dir)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			if err := e.UpdateDemo(ctx, ns, name, env); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rollout %s/%s updated: a canary of the new revision starts\n", ns, name)
			return nil
		},
	}
	cmd.Flags().StringVarP(&ns, "namespace", "n", "demo", "namespace")
	cmd.Flags().StringVar(&name, "name", "rollouts-demo", "Rollout name")
	cmd.Flags().StringArrayVar(&envs, "env", nil, "KEY=VALUE; repeatable")
	return cmd
}
