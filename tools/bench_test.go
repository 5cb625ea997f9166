package tools_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// get_architecture on a namespace of 10,000 kwok pods (40 apps of 245 running pods, 150 pods
// left Pending, 50 more running): time per call in-process, and the
// output size and peak RSS of a real `fixloop mcp` serving the same call.
func BenchmarkGetArchitecture10kPods(b *testing.B) {
	e := testenv.Get(b)
	ns := e.NewNamespace(b, "bench10k")
	cfg := rest.CopyConfig(e.RestConfig)
	cfg.QPS, cfg.Burst = 2000, 2000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	createPods(b, cs, ns)
	b.Logf("created %d pods in %s", benchPods, time.Since(start).Round(time.Second))

	kc, err := kube.NewFromConfig(e.RestConfig, "testenv", kube.Options{})
	if err != nil {
		b.Fatal(err)
	}
	d := tools.Deps{Kube: kc}
	var out *tools.GetArchitectureOutput
	// b.Loop runs this function once, so the 10,000 pods are created once per -count.
	for b.Loop() {
		if out, err = tools.GetArchitecture(context.Background(), d, tools.GetArchitectureInput{Namespace: ns}); err != nil {
			b.Fatal(err)
		}
	}
	if out.Totals.Pods != benchPods {
		b.Fatalf("summary counted %d pods, want %d", out.Totals.Pods, benchPods)
	}
	if out.Totals.PodsUnhealthy < 150 || len(out.Unhealthy) == 0 {
		b.Errorf("the 150 pending pods are not reported unhealthy: %+v", out.Totals)
	}

	// Through the real server: output tokens (≈ bytes/4) and peak RSS of the fixloop process.
	c := stdioClient(b, cleanEnv(b, "KUBECONFIG="+e.Kubeconfig), "")
	r := call(b, c, "get_architecture", map[string]any{"namespace": ns})
	if r.IsError {
		b.Fatal(text(r))
	}
	b.ReportMetric(float64(len(text(r)))/4, "output-tokens")
	if pid := serverPID(b, c); pid > 0 {
		b.ReportMetric(float64(vmHWM(b, pid))/1024, "server-peak-RSS-MiB")
	}
	// The test environment itself at 10,000 pods: the pod supervisor (informer, kube-state series, log
	// registration) and kwok. Peak since the environment started.
	for _, comp := range []string{"supervisor", "kwok"} {
		if pid := envPID(e, comp); pid > 0 {
			b.ReportMetric(float64(vmHWM(b, pid))/1024, comp+"-peak-RSS-MiB")
		}
	}
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

func createPods(b *testing.B, cs kubernetes.Interface, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) == 0 {
		b.Fatalf("no kwok nodes: %v", err)
	}
	limits := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")}
	// Bound to kwok nodes directly (the scheduler's 10,000 bindings would take minutes on a loaded
	// machine): kwok and the pod supervisor see every one of them, as in a real cluster. The pending
	// ones name a scheduler that does not exist. The benchmark writes the running pods' status itself
	// so their number does not wait on kwok's status updates.
	podSpec := func(node string) corev1.PodSpec {
		return corev1.PodSpec{NodeName: node, SchedulerName: "fixloop-bench-unscheduled", Containers: []corev1.Container{{Name: "app", Image: "example/app:1.2.3",
			Resources: corev1.ResourceRequirements{Requests: limits, Limits: limits}}}}
	}
	type job struct{ pod *corev1.Pod }
	jobs := make(chan job)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				pending := j.pod.Labels["app"] == "stuck"
				p, err := cs.CoreV1().Pods(ns).Create(ctx, j.pod, metav1.CreateOptions{})
				if err == nil && !pending {
					now := metav1.Now()
					p.Status = corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &now,
						Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}},
						ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Image: "example/app:1.2.3", Ready: true, RestartCount: int32(len(p.Name) % 3),
							State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}}
					_, err = cs.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
					if apierrors.IsConflict(err) {
						err = nil // kwok wrote the status first: it runs the pod itself
					}
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	n := 0
	// 40 apps of 245 bare pods: no controller involved, so creation is bounded by the apiserver and kwok
	// only (controller-manager's 20 QPS would take minutes to create or adopt 10,000 pods).
	for i := 0; i < 40; i++ {
		name := "svc-" + strconv.Itoa(i)
		for k := 0; k < 245; k++ {
			node := nodes.Items[n%len(nodes.Items)].Name
			jobs <- job{pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%05d", name, k), Labels: map[string]string{"app": name}}, Spec: podSpec(node)}}
			n++
		}
	}
	// 150 pods left Pending: the unhealthy ones to name.
	for k := 0; k < 150; k++ {
		spec := podSpec("")
		jobs <- job{pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("stuck-%04d", k), Labels: map[string]string{"app": "stuck"}}, Spec: spec}}
		n++
	}
	for n < benchPods {
		jobs <- job{pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bare-%04d", n), Labels: map[string]string{"app": "bare"}}, Spec: podSpec(nodes.Items[n%len(nodes.Items)].Name)}}
		n++
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		b.Fatalf("creating pods: %v", firstErr)
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
