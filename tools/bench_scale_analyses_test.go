package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fixloop/fixloop/internal/github/ghsink"
	"github.com/fixloop/fixloop/internal/github/ghsink/ghsinktest"
	"github.com/fixloop/fixloop/internal/testenv"
	"github.com/fixloop/fixloop/test/fixloopserve"
)

const (
	scaleRollouts   = 20
	scaleFailing    = 8 // distinct failures: the fingerprint holds the rollout, so one per failing rollout
	scalePerRollout = 5 // analyses of one canary at once: 3 through /a2a/analyze (they file), 2 compare_canary over MCP
	scaleViaPlugin  = 3
	scaleRepo       = "acme/bench"
)

// scaleAnswer is one analysis of the bench: which rollout, through which path, how long, and whether
// its verdict aborted.
type scaleAnswer struct {
	rollout string
	path    string // "a2a" or "mcp"
	took    time.Duration
	abort   bool
	verdict string
	err     error
}

// 100 canary analyses at once across 20 rollouts on one `fixloop serve` (real apiserver, kwok pod logs,
// Argo Rollouts, Prometheus; GitHub is the local sink): 12 good canaries (a colour change) and 8
// failing ones (panics or 5xx), 5 analyses of each canary at the same moment, 3 of them through the AI
// metric plugin's /a2a/analyze (which files the issue) and 2 through compare_canary over MCP HTTP.
// Reports p50/p99 per path and the server's peak RSS; the sink must hold exactly one issue per failing
// rollout (the 3 concurrent filers of one failure share its fingerprint) and none for a good canary.
func BenchmarkCanaryAnalyses100(b *testing.B) {
	c := newCanaryCluster(b, "bench100")
	rs, envs := scaleRolloutSet()
	start := time.Now()
	c.pausedCanaries(b, rs, envs)
	c.soakRunning(b, 9)
	b.Logf("%d rollouts paused at their canary with 9 scrapes of every pod after %s", scaleRollouts, time.Since(start).Round(time.Second))

	sink, sinkURL := scaleSink(b)
	base := httpServer(b, cleanEnv(b), "--kubeconfig", c.e.Kubeconfig, "--prometheus-url", c.e.PrometheusURL,
		"--github-base-url", sinkURL, "--github-repo", scaleRepo, "--plugin-route", "verdicts", "--rate-limit", "0", "--state-dir", b.TempDir())
	var answers []scaleAnswer
	for b.Loop() {
		answers = fireScale(base, c.ns)
	}
	checkScaleAnswers(b, answers)
	if pid := childPID("serve"); pid > 0 {
		b.ReportMetric(float64(vmHWM(b, pid))/1024, "server-peak-RSS-MiB")
		b.Logf("fixloop serve peak RSS %d MiB (load average %s)", vmHWM(b, pid)/1024, loadAverage())
	}
	checkScaleIssues(b, sink.Issues(scaleRepo))
}

// scaleRolloutSet is 20 rollouts of 2 replicas (one canary pod at setWeight 20, one stable): the first 8
// fail (alternately panics and 5xx), the rest only change colour.
func scaleRolloutSet() ([]testenv.DemoRollout, []map[string]string) {
	var rs []testenv.DemoRollout
	var envs []map[string]string
	for i := range scaleRollouts {
		env := map[string]string{"COLOR": "green"}
		switch {
		case i < scaleFailing && i%2 == 0:
			env = map[string]string{"PANIC_RATE": "0.3"}
		case i < scaleFailing:
			env = map[string]string{"ERROR_RATE": "0.3"}
		}
		rs = append(rs, testenv.DemoRollout{Name: scaleName(i), Replicas: 2})
		envs = append(envs, env)
	}
	return rs, envs
}

func scaleName(i int) string {
	if i < scaleFailing {
		return fmt.Sprintf("bad-%02d", i)
	}
	return fmt.Sprintf("good-%02d", i)
}

// soakRunning waits until Prometheus holds at least n scrapes of every running pod of the namespace,
// so every analysis reads settled evidence however loaded the machine is.
func (c *canaryCluster) soakRunning(b *testing.B, n int) {
	cs := c.e.Clientset(b)
	q := fmt.Sprintf(`count_over_time(up{namespace=%q}[15m])`, c.ns)
	waitFor(b, fmt.Sprintf("%d scrapes of every running pod in %s", n, c.ns), 6*time.Minute, func() (bool, string) {
		pods, err := cs.CoreV1().Pods(c.ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		v, _, err := c.pc.Query(context.Background(), q, time.Now())
		if err != nil {
			return false, err.Error()
		}
		got := map[string]int{}
		vec, _ := v.(model.Vector)
		for _, s := range vec {
			got[string(s.Metric["pod"])] = int(s.Value)
		}
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil && got[p.Name] < n {
				return false, fmt.Sprintf("pod %s has %d scrapes", p.Name, got[p.Name])
			}
		}
		return len(pods.Items) > 0, ""
	})
}

func scaleSink(b *testing.B) (*ghsink.Server, string) {
	sink, ts := ghsinktest.Start(b, ghsink.Options{})
	return sink, ts.URL + "/"
}

// fireScale starts all scaleRollouts*scalePerRollout analyses together and returns their answers.
func fireScale(base, ns string) []scaleAnswer {
	out := make([]scaleAnswer, 0, scaleRollouts*scalePerRollout)
	var mu sync.Mutex
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range scaleRollouts {
		for k := range scalePerRollout {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				a := scaleAnswer{rollout: scaleName(i), path: "mcp"}
				t0 := time.Now()
				if k < scaleViaPlugin {
					a.path = "a2a"
					a.verdict, a.abort, a.err = analyzeViaPlugin(base, ns, a.rollout)
				} else {
					a.verdict, a.abort, a.err = compareViaMCP(base, ns, a.rollout)
				}
				a.took = time.Since(t0)
				mu.Lock()
				out = append(out, a)
				mu.Unlock()
			}()
		}
	}
	close(gate)
	wg.Wait()
	return out
}

// analyzeViaPlugin sends what the AI metric plugin sends; the answer aborts when it does not promote
// and is not inconclusive (the plugin's answer carries no verdict word, its analysis starts with it).
func analyzeViaPlugin(base, ns, rollout string) (string, bool, error) {
	raw, err := fixloopserve.AnalyzeAsAIPlugin(base, ns, rollout, scaleRepo, "", 10*time.Minute)
	if err != nil {
		return "", false, err
	}
	var ans struct {
		Promote  bool   `json:"promote"`
		Analysis string `json:"analysis"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil {
		return "", false, fmt.Errorf("answer is not JSON: %s", raw)
	}
	word := strings.ToLower(strings.SplitN(strings.TrimSpace(ans.Analysis), " ", 2)[0])
	verdict := "promote"
	switch {
	case ans.Promote:
	case strings.HasPrefix(word, "inconclusive"):
		verdict = "inconclusive"
	default:
		verdict = "abort"
	}
	return verdict, verdict == "abort", nil
}

// compareViaMCP opens its own MCP session (as an agent would) and calls compare_canary.
func compareViaMCP(base, ns, rollout string) (string, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, err := client.NewStreamableHttpClient(base+"/mcp", transport.WithHTTPTimeout(10*time.Minute))
	if err != nil {
		return "", false, err
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		return "", false, err
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "fixloop-bench", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		return "", false, err
	}
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = "compare_canary", map[string]any{"namespace": ns, "rollout": rollout}
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return "", false, err
	}
	if res.IsError {
		return "", false, fmt.Errorf("compare_canary: %s", text(res))
	}
	raw, _ := json.Marshal(res.StructuredContent)
	var out struct {
		Verdict string `json:"verdict"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.Verdict == "" {
		return "", false, fmt.Errorf("compare_canary structured content: %s", raw)
	}
	return out.Verdict, out.Verdict == "abort", nil
}

// checkScaleAnswers fails on any error, any good canary aborted or failing one promoted, and reports
// the latency percentiles of each path and of all 100.
func checkScaleAnswers(b *testing.B, answers []scaleAnswer) {
	var all []time.Duration
	byPath := map[string][]time.Duration{}
	verdicts := map[string]int{}
	for _, a := range answers {
		if a.err != nil {
			b.Fatalf("%s analysis of %s: %v", a.path, a.rollout, a.err)
		}
		bad := strings.HasPrefix(a.rollout, "bad-")
		verdicts[map[bool]string{true: "failing ", false: "good "}[bad]+a.verdict]++
		if (bad && a.verdict == "promote") || (!bad && a.abort) {
			b.Errorf("%s canary %s got %s through %s", map[bool]string{true: "failing", false: "good"}[bad], a.rollout, a.verdict, a.path)
		}
		all = append(all, a.took)
		byPath[a.path] = append(byPath[a.path], a.took)
	}
	if len(all) != scaleRollouts*scalePerRollout {
		b.Fatalf("%d answers, want %d", len(all), scaleRollouts*scalePerRollout)
	}
	reportNamed(b, all, "analysis")
	for path, lat := range byPath {
		reportNamed(b, lat, path)
	}
	keys := make([]string, 0, len(verdicts))
	for k := range verdicts {
		keys = append(keys, fmt.Sprintf("%s %d", k, verdicts[k]))
	}
	sort.Strings(keys)
	b.Logf("%d analyses at once: p50 %s, p99 %s (a2a p50 %s, mcp p50 %s); verdicts: %s", len(all),
		percentile(all, 0.5).Round(time.Millisecond), percentile(all, 0.99).Round(time.Millisecond),
		percentile(byPath["a2a"], 0.5).Round(time.Millisecond), percentile(byPath["mcp"], 0.5).Round(time.Millisecond), strings.Join(keys, ", "))
}

// checkScaleIssues wants one issue per failing rollout, each naming it, and none for a good canary.
func checkScaleIssues(b *testing.B, issues []ghsink.Issue) {
	per := map[string]int{}
	for _, is := range issues {
		for i := range scaleRollouts {
			if strings.Contains(is.Title+"\n"+is.Body, scaleName(i)) {
				per[scaleName(i)]++
			}
		}
	}
	b.ReportMetric(float64(len(issues)), "issues")
	b.Logf("%d issues in the GitHub sink for %d distinct failures: %v", len(issues), scaleFailing, per)
	if len(issues) != scaleFailing {
		b.Errorf("%d issues for %d distinct failures", len(issues), scaleFailing)
	}
	for i := range scaleRollouts {
		want := 0
		if i < scaleFailing {
			want = 1
		}
		if per[scaleName(i)] != want {
			b.Errorf("%d issues name %s, want %d", per[scaleName(i)], scaleName(i), want)
		}
	}
}
