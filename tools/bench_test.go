package tools_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/testenv"
	"github.com/fixloop/fixloop/tools"
)

// MCP call overhead of a trivial tool (server_info: no network) through a real fixloop process.
func BenchmarkMCPCallStdio(b *testing.B) {
	benchCalls(b, stdioClient(b, cleanEnv(b), ""))
}

func BenchmarkMCPCallHTTP(b *testing.B) {
	benchCalls(b, httpClient(b, httpServer(b, cleanEnv(b)), ""))
}

func benchCalls(b *testing.B, c *client.Client) {
	call(b, c, "server_info", nil) // warm up
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if r := call(b, c, "server_info", nil); r.IsError {
			b.Fatal(text(r))
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(p(0.50), "p50-µs")
	b.ReportMetric(p(0.99), "p99-µs")
}

const benchPods = 10000

// get_architecture on a namespace of 10,000 kwok pods (40 apps of 245 running pods, 150 pods left
// Pending, 50 more running): creation time, p50/p99 of the call in-process, and the output size and peak
// RSS of a real `fixloop mcp` serving the same call beside those of the test environment.
func BenchmarkGetArchitecture10kPods(b *testing.B) {
	e := testenv.Get(b)
	ns := e.NewNamespace(b, "bench10k")
	cfg := rest.CopyConfig(e.RestConfig)
	// Protobuf halves the apiserver's work per create; the client's own limiter must not be the bottleneck.
	cfg.QPS, cfg.Burst = 5000, 5000
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	createPods(b, cs, ns)
	created := time.Since(start)
	waitRunning(b, cs, ns, benchPods-benchPending)
	b.Logf("created %d pods in %s, all %d bound ones Running (kwok) after %s (load average %s)", benchPods,
		created.Round(time.Second), benchPods-benchPending, time.Since(start).Round(time.Second), loadAverage())
	b.ReportMetric(created.Seconds(), "create-s")
	b.ReportMetric(time.Since(start).Seconds(), "running-s")

	kc, err := kube.NewFromConfig(e.RestConfig, "testenv", kube.Options{})
	if err != nil {
		b.Fatal(err)
	}
	d := tools.Deps{Kube: kc}
	var out *tools.GetArchitectureOutput
	var lat []time.Duration
	// b.Loop runs this function once, so the 10,000 pods are created once per -count; the calls repeat
	// for percentiles.
	for b.Loop() {
		for range 10 {
			t0 := time.Now()
			if out, err = tools.GetArchitecture(context.Background(), d, tools.GetArchitectureInput{Namespace: ns}); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
	}
	reportNamed(b, lat, "call")
	if out.Totals.Pods != benchPods {
		b.Fatalf("summary counted %d pods, want %d", out.Totals.Pods, benchPods)
	}
	if out.Totals.PodsUnhealthy < benchPending || len(out.Unhealthy) == 0 {
		b.Errorf("the %d pending pods are not reported unhealthy: %+v", benchPending, out.Totals)
	}
	b.Logf("get_architecture over %d pods: p50 %s, p99 %s", benchPods, percentile(lat, 0.5).Round(time.Millisecond), percentile(lat, 0.99).Round(time.Millisecond))
	reportServerAt10k(b, e, ns)
}

// reportServerAt10k makes the same call through a real `fixloop mcp` and reports its output tokens and
// peak RSS, and the peak RSS (since the environment started) of the test environment's components.
func reportServerAt10k(b *testing.B, e *testenv.Env, ns string) {
	c := stdioClient(b, cleanEnv(b, "KUBECONFIG="+e.Kubeconfig), "")
	r := call(b, c, "get_architecture", map[string]any{"namespace": ns})
	if r.IsError {
		b.Fatal(text(r))
	}
	b.ReportMetric(float64(len(text(r)))/4, "output-tokens")
	rss := map[string]int{}
	if pid := serverPID(b, c); pid > 0 {
		rss["fixloop"] = vmHWM(b, pid)
		b.ReportMetric(float64(rss["fixloop"])/1024, "server-peak-RSS-MiB")
	}
	for _, comp := range []string{"supervisor", "kwok", "kube-apiserver"} {
		if pid := envPID(e, comp); pid > 0 {
			rss[comp] = vmHWM(b, pid)
			b.ReportMetric(float64(rss[comp])/1024, comp+"-peak-RSS-MiB")
		}
	}
	b.Logf("peak RSS at %d pods (MiB): fixloop mcp %d, supervisor %d, kwok %d, kube-apiserver %d", benchPods,
		rss["fixloop"]/1024, rss["supervisor"]/1024, rss["kwok"]/1024, rss["kube-apiserver"]/1024)
}

// envPID reads the pid file of a test-environment component (0 when absent).
func envPID(e *testenv.Env, name string) int {
	b, err := os.ReadFile(filepath.Join(e.Dir, "pids", name+".pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// benchPending pods name a scheduler that does not exist: the unhealthy ones to name.
const benchPending = 150

// createPods creates benchPods bare pods, 64 creates in flight. Running ones are bound to kwok nodes
// directly (the scheduler's 10,000 bindings would take minutes on a loaded machine) and kwok runs
// them, as kubelets would: one create and one status write per pod, nothing more. Bare pods, no
// controller: controller-manager's 20 QPS would take minutes to create or adopt 10,000 pods.
func createPods(b *testing.B, cs kubernetes.Interface, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) == 0 {
		b.Fatalf("no kwok nodes: %v", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(64)
	for i, p := range benchPodSet(nodes.Items) {
		g.Go(func() error {
			if _, err := cs.CoreV1().Pods(ns).Create(gctx, p, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("pod %d of %d: %w", i, benchPods, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatalf("creating pods: %v", err)
	}
}

// benchPodSet is the 10,000 pods: 40 apps of 245, benchPending unschedulable, the rest unlabelled apps.
func benchPodSet(nodes []corev1.Node) []*corev1.Pod {
	limits := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")}
	pod := func(name, app, node string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": app}},
			Spec: corev1.PodSpec{NodeName: node, SchedulerName: "fixloop-bench-unscheduled", Containers: []corev1.Container{{Name: "app", Image: "example/app:1.2.3",
				Resources: corev1.ResourceRequirements{Requests: limits, Limits: limits}}}}}
	}
	pods := make([]*corev1.Pod, 0, benchPods)
	node := func() string { return nodes[len(pods)%len(nodes)].Name }
	perApp := (benchPods - benchPending - 50) / 40 // 245
	for i := 0; i < 40; i++ {
		for k := 0; k < perApp; k++ {
			pods = append(pods, pod(fmt.Sprintf("svc-%d-%05d", i, k), "svc-"+strconv.Itoa(i), node()))
		}
	}
	for k := 0; k < benchPending; k++ {
		pods = append(pods, pod(fmt.Sprintf("stuck-%04d", k), "stuck", ""))
	}
	for len(pods) < benchPods {
		pods = append(pods, pod(fmt.Sprintf("bare-%04d", len(pods)), "bare", node()))
	}
	return pods
}

// waitRunning waits until kwok has reported want pods of ns Running (lists from the apiserver's cache,
// a page at a time).
func waitRunning(b *testing.B, cs kubernetes.Interface, ns string, want int) {
	running := 0
	err := wait.PollUntilContextTimeout(context.Background(), 2*time.Second, 30*time.Minute, true, func(ctx context.Context) (bool, error) {
		running = 0
		opts := metav1.ListOptions{FieldSelector: "status.phase=Running", Limit: 2000}
		for {
			l, err := cs.CoreV1().Pods(ns).List(ctx, opts)
			if err != nil {
				return false, nil // a loaded apiserver times out a list now and then: try again
			}
			running += len(l.Items)
			if opts.Continue = l.Continue; opts.Continue == "" {
				return running >= want, nil
			}
		}
	})
	if err != nil {
		b.Fatalf("%d of %d pods Running after 30 minutes: %v", running, want, err)
	}
}

// serverPID finds the fixloop mcp child process of this test binary.
func serverPID(_ *testing.B, _ *client.Client) int { return childPID("mcp") }

// childPID finds the newest child process of this test binary whose command line holds word.
func childPID(word string) int {
	entries, _ := os.ReadDir("/proc")
	self := strconv.Itoa(os.Getpid())
	best := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if len(f) > 1 && f[1] == self && strings.Contains(string(cmdline), word) && pid > best {
			best = pid
		}
	}
	return best
}

// vmHWM is the peak resident set of pid in KiB.
func vmHWM(b *testing.B, pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			v, _ := strconv.Atoi(strings.Fields(l)[1])
			return v
		}
	}
	return 0
}
