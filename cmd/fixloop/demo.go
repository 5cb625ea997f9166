package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/fixloop/fixloop/internal/config"
	"github.com/fixloop/fixloop/internal/testenv"
)

func init() { rootCmd.AddCommand(newDemoCmd()) }

const (
	demoNamespace = "shop"
	demoRollout   = "colors"
	demoRepo      = "demo/shop"
)

var analysisTemplateGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "analysistemplates"}

func newDemoCmd() *cobra.Command {
	var dir string
	var down bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole loop on a local cluster: a good and a bad canary judged by fixloop through Argo Rollouts",
		Long: `demo starts the local test cluster (real kube-apiserver, Argo Rollouts, Prometheus, kwok), a local
GitHub-compatible issue sink and fixloop serve, deploys a demo app as an Argo Rollout whose canary step
asks fixloop for a verdict, then rolls out a good version and a bad one (panics + 5xx) and shows what
fixloop sees at each step. The components are built once by 'make testenv-build' (make demo does it).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(nil, nil) // the model the fixer step would use
			if err != nil {
				return usageError("%v", err)
			}
			d := &demo{dir: dir, out: cmd.OutOrStdout(), total: 9, down: down, llm: cfg.LLM, term: detectTerm(cmd.OutOrStdout())}
			err = d.run(cmd.Context())
			if err != nil || down || cmd.Context().Err() != nil {
				// Ctrl-C or a failure: leave nothing behind.
				fmt.Fprintln(d.out, "\nstopping the local cluster and every process the demo started ...")
				if stopErr := testenv.Stop(dir); stopErr != nil {
					fmt.Fprintln(d.out, "  stop:", stopErr)
				}
			}
			if cmd.Context().Err() != nil {
				return errors.New("interrupted; everything the demo started has been stopped")
			}
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "dir", defaultTestenvDir(), "state directory of the local cluster ($FIXLOOP_TESTENV_DIR)")
	cmd.Flags().BoolVar(&down, "down", false, "stop the local cluster at the end instead of leaving it up to explore")
	return cmd
}

type demo struct {
	down  bool // stop everything at the end
	llm   config.LLM
	term  termOut
	dir   string
	out   io.Writer
	step  int
	total int

	env     *testenv.Env
	cs      kubernetes.Interface
	dyn     dynamic.Interface
	serve   string // base URL of fixloop serve
	token   string // the demo operator's token (admin); Argo gets its own (read, issue)
	argoTok string
	sinkURL string
	repo    string // bare git repository standing in for github.com/demo/shop
	self    string
	mcp     *client.Client
}

func (d *demo) header(title string) {
	d.step++
	fmt.Fprintf(d.out, "\n%s\n", d.term.bold(fmt.Sprintf("[%d/%d] %s", d.step, d.total, title)))
}

func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, "  "+format+"\n", args...)
}

func (d *demo) run(ctx context.Context) error {
	if err := d.startCluster(ctx); err != nil {
		return err
	}
	d.header("Starting fixloop serve (deterministic judge, SQLite state, health monitor) and a local GitHub-compatible issue sink")
	if err := d.startServe(ctx, d.self); err != nil {
		return err
	}
	d.say("fixloop serve:  %s  (MCP at %s/mcp)", d.serve, d.serve)
	d.say("issue sink:     %s  (speaks the GitHub REST API fixloop uses)", d.sinkURL)
	if err := d.connectMCP(ctx); err != nil {
		return err
	}

	d.header("Deploying the demo app as an Argo Rollout whose canary step asks fixloop for a verdict")
	if err := d.deploy(ctx); err != nil {
		return err
	}
	if err := d.showArchitecture(ctx); err != nil {
		return err
	}

	d.header("Good release: the colour changes from blue to green (the only difference, on purpose)")
	good, err := d.release(ctx, map[string]string{"COLOR": "green"})
	if err != nil {
		return err
	}
	d.header("Bad release: colour yellow, and the new code panics and answers 5xx on some requests")
	bad, err := d.release(ctx, map[string]string{"COLOR": "yellow", "PANIC_RATE": "0.15", "ERROR_RATE": "0.2"})
	if err != nil {
		return err
	}

	d.header("The GitHub issue fixloop opened for the aborted canary (one per distinct failure)")
	issue := d.showIssues()

	d.header("The fix: what fixloop's fixer agent hands to OpenCode")
	d.showFix(ctx, issue)

	d.header("Between deploys: the health monitor catches a service that degrades on its own")
	caught, err := d.showMonitor(ctx)
	if err != nil {
		return err
	}
	d.summary(good, bad, caught)
	return nil
}

// startCluster starts the local cluster (step 1) and the demo's clients of it.
func (d *demo) startCluster(ctx context.Context) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	d.self = self
	// Absolute: paths are handed to child processes and git, which run in other directories.
	if d.dir, err = filepath.Abs(d.dir); err != nil {
		return err
	}
	d.header("Starting the local cluster: etcd, kube-apiserver, controller-manager, scheduler, kwok, Argo Rollouts, Prometheus")
	begin := time.Now()
	d.env, err = testenv.Start(ctx, testenv.Options{Dir: d.dir, FixloopBin: self, Progress: indent{d.out}})
	if err != nil {
		return fmt.Errorf("starting the local cluster: %w\n(the components are built by 'make testenv-build')", err)
	}
	d.say("ready in %s — kubeconfig %s", time.Since(begin).Round(time.Second), d.env.Kubeconfig)
	if d.cs, err = kubernetes.NewForConfig(d.env.RestConfig); err != nil {
		return err
	}
	d.dyn, err = dynamic.NewForConfig(d.env.RestConfig)
	return err
}

// summary is the last step: what each release got, and how to explore what is still running.
func (d *demo) summary(good, bad, caught string) {
	d.header("Summary")
	d.say("good canary (green):  %s", good)
	d.say("bad canary (yellow):  %s", bad)
	d.say("%s/%s: %s", monitorNamespace, monitorWorkload, caught)
	if d.down {
		return
	}
	fmt.Fprintf(d.out, `
  Explore what is still running:
    export KUBECONFIG=%s
    MCP endpoint:     %s/mcp   (streamable HTTP, Authorization: Bearer $(cat %s); or 'fixloop mcp' over stdio)
    A2A triage agent: %s/.well-known/agent-card.json
    Prometheus:       %s
    Issue sink:       bin/fixloop github-sink --print --state %s
    Logs:             %s/logs/
  Stop everything:    make testenv-down
`, d.env.Kubeconfig, d.serve, filepath.Join(d.dir, "token"), d.serve, d.env.PrometheusURL, filepath.Join(d.dir, "github", "state.json"), d.dir)
}

// indent prefixes every write (the cluster's progress lines) so they read as part of the step.
type indent struct{ w io.Writer }

func (i indent) Write(p []byte) (int, error) {
	s := strings.TrimRight(string(p), "\n")
	_, err := fmt.Fprintln(i.w, "    "+strings.ReplaceAll(s, "\n", "\n    "))
	return len(p), err
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// waitFor polls ok every 200 ms until it holds, ctx ends or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, what string, ok func() bool) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(context.Context) (bool, error) { return ok(), nil })
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
	}
	return err
}

func truncate(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ⏎ ")
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// printJSONExcerpt prints v as indented JSON, at most maxLines lines.
func printJSONExcerpt(w io.Writer, v any, maxLines int) {
	b, _ := json.MarshalIndent(v, "", "  ")
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if i == maxLines {
			fmt.Fprintf(w, "    ... (%d more lines)\n", len(lines)-maxLines)
			return
		}
		fmt.Fprintf(w, "    %s\n", truncate(l, 150))
	}
}
