package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/config"
	"github.com/fixloop/fixloop/internal/freeport"
	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/testenv"
	"github.com/fixloop/fixloop/tools"
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
	if d.dyn, err = dynamic.NewForConfig(d.env.RestConfig); err != nil {
		return err
	}

	d.header("Starting fixloop serve (deterministic judge, SQLite state, health monitor) and a local GitHub-compatible issue sink")
	if err := d.startServe(ctx, self); err != nil {
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

	d.header("Summary")
	d.say("good canary (green):  %s", good)
	d.say("bad canary (yellow):  %s", bad)
	d.say("%s/%s: %s", monitorNamespace, monitorWorkload, caught)
	if d.down {
		return nil
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
	return nil
}

// indent prefixes every write (the cluster's progress lines) so they read as part of the step.
type indent struct{ w io.Writer }

func (i indent) Write(p []byte) (int, error) {
	s := strings.TrimRight(string(p), "\n")
	_, err := fmt.Fprintln(i.w, "    "+strings.ReplaceAll(s, "\n", "\n    "))
	return len(p), err
}

func (d *demo) startServe(ctx context.Context, self string) error {
	ghDir := filepath.Join(d.dir, "github")
	if err := os.MkdirAll(ghDir, 0o755); err != nil {
		return err
	}
	urlFile := filepath.Join(ghDir, "url")
	_ = os.Remove(urlFile)
	// A fresh demo starts with no issues and no cached verdicts (the same pod template gives the same
	// revision hash every run, so old verdicts would be found again).
	_ = os.Remove(filepath.Join(ghDir, "state.json"))
	_ = os.RemoveAll(filepath.Join(d.dir, "fixloop-state"))
	_ = os.RemoveAll(filepath.Join(d.dir, "fixer-state"))
	_ = os.RemoveAll(filepath.Join(ghDir, "shop.git"))
	base := os.Environ()
	// The demo app's repository (with the palette bug the bad release ships), so the fixer has something
	// to clone, branch and push to; the sink answers the branches API from it.
	d.repo = filepath.Join(ghDir, "shop.git")
	if err := seedDemoRepo(d.repo); err != nil {
		return fmt.Errorf("creating the demo repository: %w", err)
	}
	if err := testenv.StartTracked(d.dir, "github-sink", self,
		[]string{"github-sink", "--listen", "127.0.0.1:0", "--state", filepath.Join(ghDir, "state.json"), "--url-file", urlFile,
			"--repo", demoRepo + "=" + d.repo}, base); err != nil {
		return err
	}
	if err := waitFor(ctx, 15*time.Second, "the issue sink to listen", func() bool {
		b, err := os.ReadFile(urlFile)
		d.sinkURL = strings.TrimSpace(string(b))
		return err == nil && d.sinkURL != ""
	}); err != nil {
		return err
	}

	port, err := freeport.Get()
	if err != nil {
		return err
	}
	d.serve = fmt.Sprintf("http://127.0.0.1:%d", port)
	authFile, err := d.writeAuthFile()
	if err != nil {
		return err
	}
	env := append(base,
		"FIXLOOP_AUTH_FILE="+authFile,
		"FIXLOOP_KUBECONFIG="+d.env.Kubeconfig,
		"FIXLOOP_PROMETHEUS_URL="+d.env.PrometheusURL,
		"FIXLOOP_STATE_DIR="+filepath.Join(d.dir, "fixloop-state"),
		"FIXLOOP_GITHUB_BASE_URL="+d.sinkURL,
		"FIXLOOP_GITHUB_TOKEN=demo-token",
		"FIXLOOP_GITHUB_REPO="+demoRepo,
	)
	env = append(env, monitorEnv()...)
	if err := testenv.StartTracked(d.dir, "fixloop-serve", self, []string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port)}, env); err != nil {
		return err
	}
	return waitFor(ctx, 30*time.Second, "fixloop serve to be ready (log: "+filepath.Join(d.dir, "logs", "fixloop-serve.log")+")", func() bool {
		resp, err := http.Get(d.serve + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func (d *demo) connectMCP(ctx context.Context) error {
	c, err := client.NewStreamableHttpClient(d.serve+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + d.token}))
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "fixloop-demo", Version: version}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	if _, err := c.Initialize(ctx, init); err != nil {
		return fmt.Errorf("MCP initialize against %s/mcp: %w", d.serve, err)
	}
	tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return err
	}
	var names []string
	for _, t := range tools.Tools {
		names = append(names, t.Name)
	}
	d.say("an MCP client (the same one Claude or Cursor would use) sees %d tools: %s", len(names), strings.Join(names, ", "))
	d.mcp = c
	return nil
}

// callTool calls an MCP tool and decodes its structured result into out.
func (d *demo) callTool(ctx context.Context, name string, args map[string]any, out any) error {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	res, err := d.mcp.CallTool(ctx, req)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if res.IsError {
		return fmt.Errorf("%s: %s", name, toolText(res))
	}
	if out == nil {
		return nil
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

func toolText(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if t, ok := c.(mcp.TextContent); ok {
			parts = append(parts, t.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func (d *demo) deploy(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: demoNamespace}}
	if err := d.cs.CoreV1().Namespaces().Delete(ctx, demoNamespace, metav1.DeleteOptions{}); err == nil {
		d.say("removing the namespace %q left by an earlier demo ...", demoNamespace)
		if err := waitFor(ctx, 60*time.Second, "namespace "+demoNamespace+" to be deleted", func() bool {
			_, err := d.cs.CoreV1().Namespaces().Get(ctx, demoNamespace, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		}); err != nil {
			return err
		}
	}
	if _, err := d.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating namespace %s: %w", demoNamespace, err)
	}
	// The AnalysisTemplate of manifests/argo, pointed at the fixloop serve of this demo.
	tmpl := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
		"metadata": map[string]any{"name": "fixloop-canary", "namespace": demoNamespace},
		"spec": map[string]any{
			"args": []any{map[string]any{"name": "rollout"}, map[string]any{"name": "namespace"},
				map[string]any{"name": "fixloop-token", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "fixloop-argo-token", "key": "token"}}}},
			"metrics": []any{map[string]any{
				"name": "fixloop-verdict", "count": int64(1), "consecutiveErrorLimit": int64(30), "interval": "5s",
				"successCondition": "result.promote == true && result.confidence >= 70",
				// Only an abort fails the run: an inconclusive or low-confidence verdict makes the
				// measurement Inconclusive, so Argo pauses the rollout for a human (never a promote).
				"failureCondition": "result.verdict == \"abort\"",
				"provider": map[string]any{"web": map[string]any{
					"url": d.serve + "/argo/v1/verdict", "method": "POST", "timeoutSeconds": int64(10),
					"headers": []any{map[string]any{"key": "Content-Type", "value": "application/json"},
						map[string]any{"key": "Authorization", "value": "Bearer {{args.fixloop-token}}"}},
					"jsonBody": map[string]any{"namespace": "{{args.namespace}}", "rollout": "{{args.rollout}}", "repoUrl": "https://github.com/" + demoRepo},
					"jsonPath": "{$}",
				}},
			}},
		},
	}}
	argoSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "fixloop-argo-token"}, StringData: map[string]string{"token": d.argoTok}}
	if _, err := d.cs.CoreV1().Secrets(demoNamespace).Create(ctx, argoSecret, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the Secret with Argo's fixloop token: %w", err)
	}
	if _, err := d.dyn.Resource(analysisTemplateGVR).Namespace(demoNamespace).Create(ctx, tmpl, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the AnalysisTemplate: %w", err)
	}
	steps := []map[string]any{
		{"setWeight": int64(20)},
		{"pause": map[string]any{"duration": "45s"}}, // let the canary serve traffic (and Prometheus scrape it) before judging
		{"analysis": map[string]any{
			"templates": []any{map[string]any{"templateName": "fixloop-canary"}},
			"args": []any{
				map[string]any{"name": "rollout", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.name"}}},
				map[string]any{"name": "namespace", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.namespace"}}},
			},
		}},
		{"setWeight": int64(60)},
		{"pause": map[string]any{"duration": "5s"}},
	}
	svc, ro := testenv.DemoObjects(demoNamespace, testenv.DemoRollout{Name: demoRollout, Replicas: 5, Steps: steps, Color: "blue"})
	// 60 requests/s: the canary at 20% serves the ~500 requests the judge needs for full confidence
	// within the pause (at the generator's default 10/s a benign canary scores ~57, below the gate).
	metav1.SetMetaDataAnnotation(&svc.ObjectMeta, testenv.TrafficAnnotation, "60")
	if _, err := d.cs.CoreV1().Services(demoNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the Service: %w", err)
	}
	if _, err := d.dyn.Resource(testenv.RolloutGVR).Namespace(demoNamespace).Create(ctx, ro, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the Rollout: %w", err)
	}
	d.say("Rollout %s/%s: 5 replicas of the demo app (blue), 60 requests/s; canary steps: 20%% → pause 45s → fixloop analysis → 60%% → done", demoNamespace, demoRollout)
	return d.watchRollout(ctx, 3*time.Minute, func(s rolloutState) bool { return s.Phase == "Healthy" && s.Available == 5 })
}

func (d *demo) showArchitecture(ctx context.Context) error {
	var arch tools.GetArchitectureOutput
	if err := d.callTool(ctx, "get_architecture", map[string]any{"namespace": demoNamespace}, &arch); err != nil {
		return err
	}
	t := arch.Totals
	d.say("get_architecture sees %d workload(s), %d pods (%d ready, %d unhealthy), %d service(s); the workload:",
		t.Workloads, t.Pods, t.PodsReady, t.PodsUnhealthy, t.Services)
	printJSONExcerpt(d.out, arch.Workloads, 28)
	return nil
}

// rolloutState is the part of the Rollout status the demo narrates.
type rolloutState struct {
	Phase, Message, CurrentHash, StableHash string
	Step, Available                         int64
	Aborted                                 bool
	Inconclusive                            bool // paused by an Inconclusive analysis, waiting for a human
}

func readRolloutState(u *unstructured.Unstructured) rolloutState {
	r := kube.ParseRollout(u)
	s := rolloutState{
		Phase: r.Phase, Message: r.Message, CurrentHash: r.CurrentHash, StableHash: r.StableHash,
		Available: r.AvailableReplica, Aborted: r.Aborted,
		Inconclusive: slices.Contains(r.PauseReasons, "InconclusiveAnalysisRun"),
	}
	if r.CurrentStepIndex != nil {
		s.Step = int64(*r.CurrentStepIndex)
	}
	return s
}

func (s rolloutState) String() string {
	str := fmt.Sprintf("phase %s, step %d, %d available", s.Phase, s.Step, s.Available)
	if s.Aborted {
		str += ", aborted"
	}
	if s.Inconclusive {
		str += ", paused: analysis inconclusive"
	}
	if s.Message != "" {
		str += " — " + s.Message
	}
	return str
}

// watchRollout narrates status changes until done holds, showing that it is alive (see waiter).
func (d *demo) watchRollout(ctx context.Context, timeout time.Duration, done func(rolloutState) bool) error {
	ri := d.dyn.Resource(testenv.RolloutGVR).Namespace(demoNamespace)
	deadline := time.Now().Add(timeout)
	last := ""
	w := d.term.waiter(d.out, "the rollout", timeout)
	for {
		u, err := ri.Get(ctx, demoRollout, metav1.GetOptions{})
		if err == nil {
			s := readRolloutState(u)
			if line := s.String(); line != last {
				w.line("rollout: %s", line)
				last = line
			}
			if done(s) {
				return nil
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rollout %s/%s did not get there within %s (last: %s; controller log %s)",
				demoNamespace, demoRollout, timeout, last, filepath.Join(d.dir, "logs", "argo-rollouts.log"))
		}
		w.tick()
		time.Sleep(500 * time.Millisecond)
	}
}

// release starts a new revision and narrates the canary until Argo (asking fixloop) promotes or aborts it.
func (d *demo) release(ctx context.Context, env map[string]string) (string, error) {
	u, err := d.dyn.Resource(testenv.RolloutGVR).Namespace(demoNamespace).Get(ctx, demoRollout, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	prev := readRolloutState(u)
	if err := testenv.UpdateDemoEnv(ctx, d.dyn, demoNamespace, demoRollout, env); err != nil {
		return "", err
	}
	// No ignore or mask pattern: a colour-only release is a changed value, which the judge promotes.
	d.say("new revision applied; Argo starts the canary at 20%% weight")
	// Wait for the controller to pick up the new revision and pause at 20%, then look at the canary
	// near the end of the pause: once Argo's analysis aborts a bad canary, its pods are gone.
	if err := d.watchRollout(ctx, 3*time.Minute, func(s rolloutState) bool {
		return s.CurrentHash != prev.CurrentHash && (s.Step >= 1 || s.Phase == "Degraded")
	}); err != nil {
		return "", err
	}
	d.say("the canary serves 20%% of the traffic; looking at it the way fixloop's tools do ...")
	if err := sleepCtx(ctx, 35*time.Second); err != nil {
		return "", err
	}
	d.showCanaryView(ctx)
	d.say("Argo's AnalysisRun now calls fixloop (web provider → POST %s/argo/v1/verdict) ...", d.serve)
	var final rolloutState
	err = d.watchRollout(ctx, 5*time.Minute, func(s rolloutState) bool {
		final = s
		return (s.Phase == "Healthy" && s.Step >= 5) || s.Aborted || s.Phase == "Degraded" || s.Inconclusive
	})
	if err != nil {
		return "", err
	}
	d.showAnalysisRun(ctx)
	if final.Inconclusive {
		return "", fmt.Errorf("fixloop's verdict was inconclusive, so Argo paused the canary for a human "+
			"(kubectl argo rollouts promote or abort %s -n %s); the demo expects a clear verdict", demoRollout, demoNamespace)
	}
	if final.Aborted || final.Phase == "Degraded" {
		return "aborted by Argo Rollouts on fixloop's verdict; canary scaled down, stable kept serving", nil
	}
	return "promoted by Argo Rollouts on fixloop's verdict; the new version is now stable", nil
}

// showCanaryView prints what fixloop's tools see during the canary: logs, metrics and the verdict.
func (d *demo) showCanaryView(ctx context.Context) {
	var logs tools.GetLogsOutput
	if err := d.callTool(ctx, "get_logs", map[string]any{"namespace": demoNamespace, "rollout": demoRollout, "role": "canary", "summarize": true, "sinceSeconds": 120}, &logs); err != nil {
		d.say("get_logs: %v", err)
	} else {
		d.say("get_logs (canary, %d pod(s), %d lines mined into templates):", len(logs.Pods), logs.TotalLines)
		for i, t := range logs.Templates {
			if i == 6 {
				d.say("  ... %d more templates", len(logs.Templates)-6)
				break
			}
			d.say("  %5d× %-5s %s", t.Count, t.Level, truncate(t.Pattern, 110))
		}
	}
	d.say("get_metrics over the last 2 minutes (stable | canary):")
	byRole := map[string]map[string]tools.MetricResult{}
	var names []string
	for _, role := range []string{"stable", "canary"} {
		var m tools.GetMetricsOutput
		if err := d.callTool(ctx, "get_metrics", map[string]any{"namespace": demoNamespace, "rollout": demoRollout, "role": role, "window": "2m"}, &m); err != nil {
			d.say("  %s: %v", role, err)
			continue
		}
		byRole[role] = map[string]tools.MetricResult{}
		for _, r := range m.Metrics {
			if role == "stable" {
				names = append(names, r.Name)
			}
			byRole[role][r.Name] = r
		}
	}
	for _, n := range names {
		d.say("  %-22s %18s | %s", n, metricFigure(byRole["stable"][n]), metricFigure(byRole["canary"][n]))
	}
	var v struct {
		Verdict    string `json:"verdict"`
		Promote    bool   `json:"promote"`
		Confidence int    `json:"confidence"`
		Analysis   string `json:"analysis"`
		RootCause  string `json:"rootCause"`
		Report     string `json:"report"`
		Evidence   []struct {
			Kind, Template, Metric, Severity, Detail string
		} `json:"evidence"`
	}
	if err := d.callTool(ctx, "compare_canary", map[string]any{"namespace": demoNamespace, "rollout": demoRollout, "sinceSeconds": 120}, &v); err != nil {
		d.say("compare_canary: %v", err)
		return
	}
	d.say("compare_canary verdict: %s (promote=%v, confidence %d)", d.term.bold(v.Verdict), v.Promote, v.Confidence)
	d.say("  analysis:   %s", v.Analysis)
	if v.RootCause != "" {
		d.say("  root cause: %s", v.RootCause)
	}
	if v.Report != "" {
		if strings.HasPrefix(v.Report, "/") { // root-relative when serve has no public URL configured
			v.Report = d.serve + v.Report
		}
		d.say("  report:     %s  (charts, template diff; send the token: curl -H \"Authorization: Bearer $(cat %s)\")",
			v.Report, filepath.Join(d.dir, "token"))
	}
	shown := 0
	for _, e := range v.Evidence {
		if e.Severity == "info" {
			continue // the demo shows what decided the verdict; the tool returns everything
		}
		if shown == 6 {
			d.say("  ...")
			break
		}
		shown++
		what := e.Template
		if what == "" {
			what = e.Metric
		}
		d.say("  evidence:   [%s, %s] %s — %s", e.Kind, e.Severity, truncate(what, 90), truncate(e.Detail, 120))
	}
}

// metricFigure is a metric's average in a few characters, or why there is none.
func metricFigure(r tools.MetricResult) string {
	if r.Status != "ok" || r.Avg == nil {
		if r.Status == "" {
			return "-"
		}
		return r.Status
	}
	return fmt.Sprintf("%.4g %s", *r.Avg, r.Unit)
}

func (d *demo) showAnalysisRun(ctx context.Context) {
	runs, err := d.dyn.Resource(schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "analysisruns"}).
		Namespace(demoNamespace).List(ctx, metav1.ListOptions{})
	if err != nil || len(runs.Items) == 0 {
		return
	}
	newest := runs.Items[0]
	for _, r := range runs.Items {
		if r.GetCreationTimestamp().After(newest.GetCreationTimestamp().Time) {
			newest = r
		}
	}
	phase, _, _ := unstructured.NestedString(newest.Object, "status", "phase")
	d.say("AnalysisRun %s: %s", newest.GetName(), phase)
	results, _, _ := unstructured.NestedSlice(newest.Object, "status", "metricResults")
	for _, r := range results {
		m, _ := r.(map[string]any)
		ms, _ := m["measurements"].([]any)
		if len(ms) == 0 {
			continue
		}
		last, _ := ms[len(ms)-1].(map[string]any)
		d.say("  measurement %v: %s", last["phase"], truncate(fmt.Sprint(last["value"]), 200))
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func waitFor(ctx context.Context, timeout time.Duration, what string, ok func() bool) error {
	deadline := time.Now().Add(timeout)
	for !ok() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil
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

// writeAuthFile makes the demo's tokens (the operator's, admin; Argo's web provider's, read and issue)
// and the auth file fixloop serve checks them against (hashes only). The operator's token is left in
// <dir>/token for the reader to try the endpoints with.
func (d *demo) writeAuthFile() (string, error) {
	var err error
	if d.token, err = auth.NewToken(); err != nil {
		return "", err
	}
	if d.argoTok, err = auth.NewToken(); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(d.dir, "token"), []byte(d.token+"\n"), 0o600); err != nil {
		return "", err
	}
	file := filepath.Join(d.dir, "auth.yaml")
	body := fmt.Sprintf("tokens:\n- name: demo-operator\n  sha256: %s\n  scopes: [admin]\n- name: argo-rollouts\n  sha256: %s\n  scopes: [read, issue]\n",
		auth.HashToken(d.token), auth.HashToken(d.argoTok))
	return file, os.WriteFile(file, []byte(body), 0o600)
}
