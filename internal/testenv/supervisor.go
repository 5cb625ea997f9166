package testenv

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/fixloop/fixloop/internal/freeport"
	"github.com/fixloop/fixloop/internal/testenv/metricshapes"
)

// defaultRPS is the generator's steady request rate per Service.
const defaultRPS = 10

// supervisor is the kubelet stand-in: it gives every pod a log file kwok serves, runs a real demo-app
// process for each Running demo pod, publishes those processes to Prometheus, exports
// kube-state-metrics-named series and sends steady traffic through each Service.
type supervisor struct {
	dir  string
	st   *state
	log  *slog.Logger
	cs   kubernetes.Interface
	dyn  dynamic.Interface
	pods listersv1.PodLister
	svcs listersv1.ServiceLister
	ings networkinglisters.IngressLister

	shapes    *metricshapes.Recorder // responses published in metric shapes (shapes.go)
	targetsMu sync.Mutex             // one writer of the file_sd targets at a time (they share a temp file)

	mu         sync.Mutex
	procs      map[string]*demoProc // by ns/name
	restarts   map[types.UID]int    // local process restarts, added to the pod's restart count
	registered map[types.UID]bool   // pods whose Logs object exists
	dirty      map[string]bool      // ns/name of demo pods changed since the last pass
	kick       chan struct{}
	httpClient *http.Client
}

type demoProc struct {
	key, ns, name string
	uid           types.UID
	container     string
	labels        map[string]string
	health        string // path answering 200 once the process serves
	node          string
	port          int
	cmd           *exec.Cmd
	ready         bool
	stopping      bool
	done          chan struct{}
}

// Supervise runs the pod supervisor of the environment in dir until ctx ends (hidden subcommand
// `fixloop testenv supervise`, started detached by Start).
func Supervise(ctx context.Context, dir string, logOut io.Writer) error {
	st, err := readState(dir)
	if err != nil {
		return err
	}
	cfg, err := restConfigFor(filepath.Join(dir, "kubeconfigs", "supervisor.kubeconfig"))
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	s := &supervisor{
		dir: dir, st: st, log: slog.New(slog.NewTextHandler(logOut, nil)), cs: cs, dyn: dyn,
		procs: map[string]*demoProc{}, restarts: map[types.UID]int{}, registered: map[types.UID]bool{}, dirty: map[string]bool{},
		kick: make(chan struct{}, 1), shapes: metricshapes.NewRecorder(),
		httpClient: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}},
	}
	// Managed fields are half of a cached pod and nothing here reads them: at 10,000 pods that is
	// hundreds of megabytes.
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithTransform(stripManagedFields))
	podInf := factory.Core().V1().Pods()
	svcInf := factory.Core().V1().Services()
	s.pods, s.svcs = podInf.Lister(), svcInf.Lister()
	s.ings = factory.Networking().V1().Ingresses().Lister()
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    s.podChanged,
		UpdateFunc: func(_, obj any) { s.podChanged(obj) },
		DeleteFunc: s.podChanged,
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("informer for %v did not sync", typ)
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(&kubeStateCollector{s: s})
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	// One scrape at a time: over 10,000 pods a slow scrape must not pile up concurrent copies of the series.
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{MaxRequestsInFlight: 1}))
	mux.Handle("/shapes/", s.shapes)
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", st.Ports["supervisor"]))
	if err != nil {
		return fmt.Errorf("supervisor cannot listen: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go s.traffic(ctx)

	s.log.Info("pod supervisor running", "addr", ln.Addr().String())
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for n := 0; ; n++ {
		// Changed pods every pass; every pod only every 30 s (a missed event), never a full list per event.
		s.reconcile(ctx, n%15 == 0)
		select {
		case <-ctx.Done():
			_ = srv.Close()
			s.stopAll()
			return nil
		case <-s.kick:
		case <-tick.C:
		}
	}
}

// podChanged marks a pod the supervisor backs (or backed) with a process for the next pass.
func (s *supervisor) podChanged(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	key := p.Namespace + "/" + p.Name
	s.mu.Lock()
	_, running := s.procs[key]
	if _, demo := isDemoPod(p); demo || running {
		s.dirty[key] = true
	}
	s.mu.Unlock()
	s.poke()
}

func (s *supervisor) poke() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// isDemoPod reports whether a container of the pod runs an image the supervisor backs with a local
// process (backends.go).
func isDemoPod(p *corev1.Pod) (string, bool) {
	c, b := backendOf(p)
	return c, b != nil
}

// reconcile starts a process for each Running demo pod and stops the processes of pods that are gone,
// for the pods changed since the last pass, or for all of them when full.
func (s *supervisor) reconcile(ctx context.Context, full bool) {
	s.mu.Lock()
	keys := s.dirty
	s.dirty = map[string]bool{}
	if full {
		for key := range s.procs {
			keys[key] = true
		}
	}
	s.mu.Unlock()
	if full {
		pods, err := s.pods.List(labels.Everything())
		if err != nil {
			s.log.Error("listing pods", "err", err)
			return
		}
		for _, p := range pods {
			if _, demo := isDemoPod(p); demo {
				keys[p.Namespace+"/"+p.Name] = true
			}
		}
	}
	stopped := false
	for key := range keys {
		stopped = s.syncPod(ctx, key) || stopped
	}
	if stopped {
		s.writeTargets()
	}
}

// syncPod makes the process of one pod match it: started when the demo pod runs on a node, stopped when
// it is gone, stopping or replaced by a pod of the same name. It reports whether it stopped one.
func (s *supervisor) syncPod(ctx context.Context, key string) bool {
	ns, name, _ := strings.Cut(key, "/")
	p, err := s.pods.Pods(ns).Get(name)
	if err != nil {
		p = nil
	}
	container, demo := "", false
	if p != nil {
		container, demo = isDemoPod(p)
	}
	want := demo && p.Spec.NodeName != "" && p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil
	s.mu.Lock()
	proc := s.procs[key]
	replace := proc != nil && (!want || proc.uid != p.UID)
	if replace {
		delete(s.procs, key)
	}
	s.mu.Unlock()
	if replace {
		s.stopProc(proc)
		s.shapes.ForgetPod(proc.ns, proc.name)
	}
	if demo && p.Spec.NodeName != "" {
		s.ensureLogs(ctx, p)
	}
	if want && (proc == nil || replace) {
		s.startProc(ctx, p, container)
	}
	return replace
}

// ensureLogs registers the pod's per-container log files with kwok once per pod. Only pods backed by a
// process get one up front; kwok serves every other pod the empty default log of its configuration
// (one Logs object per pod costs kwok and the apiserver gigabytes at 10,000 pods), and AppendPodLog
// registers the pods whose logs a test writes.
func (s *supervisor) ensureLogs(ctx context.Context, p *corev1.Pod) {
	s.mu.Lock()
	done := s.registered[p.UID]
	s.mu.Unlock()
	if done || p.DeletionTimestamp != nil {
		return
	}
	if err := registerLogs(ctx, s.dyn, s.dir, p); err != nil {
		if !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err) { // namespace going away
			s.log.Error("registering pod logs with kwok", "pod", p.Namespace+"/"+p.Name, "err", err)
		}
		return
	}
	s.mu.Lock()
	s.registered[p.UID] = true
	s.mu.Unlock()
}

// registerLogs points kwok at the pod's per-container log files: a namespaced Logs object named like the
// pod, owned by it so it is garbage-collected with it.
func registerLogs(ctx context.Context, dyn dynamic.Interface, dir string, p *corev1.Pod) error {
	var logs []any
	for _, c := range p.Spec.Containers {
		path := PodLogPath(dir, p.Namespace, p.Name, c.Name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		f.Close()
		logs = append(logs, map[string]any{"containers": []any{c.Name}, "logsFile": path, "follow": true})
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1",
		"kind":       "Logs",
		"metadata": map[string]any{
			"name": p.Name, "namespace": p.Namespace,
			"ownerReferences": []any{map[string]any{"apiVersion": "v1", "kind": "Pod", "name": p.Name, "uid": string(p.UID)}},
		},
		"spec": map[string]any{"logs": logs},
	}}
	ri := dyn.Resource(logsGVR).Namespace(p.Namespace)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := ri.Create(cctx, obj, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// A previous pod of the same name: point the object at this one.
		var cur *unstructured.Unstructured
		if cur, err = ri.Get(cctx, p.Name, metav1.GetOptions{}); err == nil {
			obj.SetResourceVersion(cur.GetResourceVersion())
			_, err = ri.Update(cctx, obj, metav1.UpdateOptions{})
		}
	}
	return err
}

// stripManagedFields drops what the supervisor never reads from its cache.
func stripManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

func (s *supervisor) startProc(ctx context.Context, p *corev1.Pod, container string) {
	port, err := freeport.Get()
	if err != nil {
		s.log.Error("no port for demo pod", "err", err)
		return
	}
	var spec corev1.Container
	for _, c := range p.Spec.Containers {
		if c.Name == container {
			spec = c
		}
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "HOSTNAME=" + p.Name,
		"POD_NAME=" + p.Name, "POD_NAMESPACE=" + p.Namespace}
	for _, e := range spec.Env {
		if e.ValueFrom == nil {
			env = append(env, e.Name+"="+e.Value)
		}
	}
	cmd, err := s.backendCommand(p, port)
	if err != nil {
		s.log.Error("no local program for pod", "pod", p.Namespace+"/"+p.Name, "err", err)
		return
	}
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err1 := cmd.StdoutPipe()
	stderr, err2 := cmd.StderrPipe()
	if err := errors.Join(err1, err2); err != nil {
		s.log.Error("demo pod pipes", "err", err)
		return
	}
	logPath := PodLogPath(s.dir, p.Namespace, p.Name, container)
	if err := cmd.Start(); err != nil {
		s.log.Error("starting demo app", "pod", p.Namespace+"/"+p.Name, "err", err)
		return
	}
	key := p.Namespace + "/" + p.Name
	pidName := "pod-" + p.Namespace + "_" + p.Name
	if err := writePid(s.dir, pidName, cmd.Process.Pid); err != nil {
		s.log.Error("writing pid", "err", err)
	}
	_, b := backendOf(p)
	proc := &demoProc{key: key, ns: p.Namespace, name: p.Name, uid: p.UID, container: container, health: b.health,
		labels: p.Labels, node: p.Spec.NodeName, port: port, cmd: cmd, done: make(chan struct{})}
	var wg sync.WaitGroup
	var fmu sync.Mutex
	for stream, r := range map[string]io.Reader{"stdout": stdout, "stderr": stderr} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			copyCRI(r, logPath, stream, &fmu)
		}()
	}
	s.mu.Lock()
	s.procs[key] = proc
	s.mu.Unlock()
	s.log.Info("started demo app", "pod", key, "pid", cmd.Process.Pid, "port", port)
	go func() {
		wg.Wait()
		err := cmd.Wait()
		close(proc.done)
		_ = os.Remove(filepath.Join(s.dir, "pids", pidName+".pid"))
		s.mu.Lock()
		stopping := proc.stopping
		if !stopping && s.procs[key] == proc {
			// It died on its own: like a container restart, count it and let reconcile start a new one.
			delete(s.procs, key)
			s.restarts[proc.uid]++
		}
		s.mu.Unlock()
		if !stopping {
			s.log.Warn("demo app exited; restarting", "pod", key, "err", err)
			_ = appendCRILines(logPath, "stderr", []string{fmt.Sprintf("container %s exited: %v", container, err)})
			s.writeTargets()
			time.Sleep(time.Second)
			s.mu.Lock()
			s.dirty[key] = true
			s.mu.Unlock()
			s.poke()
		}
	}()
	go s.markReady(ctx, proc)
}

// markReady waits for the process to serve, then publishes it to Prometheus and annotates the pod.
func (s *supervisor) markReady(ctx context.Context, proc *demoProc) {
	url := fmt.Sprintf("http://127.0.0.1:%d%s", proc.port, proc.health)
	for i := 0; i < 100; i++ {
		select {
		case <-proc.done:
			return
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := s.httpClient.Get(url)
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			break
		}
	}
	s.mu.Lock()
	proc.ready = true
	s.mu.Unlock()
	s.writeTargets()
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{
		EndpointAnnotation: fmt.Sprintf("127.0.0.1:%d", proc.port)}}})
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := s.cs.CoreV1().Pods(proc.ns).Patch(cctx, proc.name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
		s.log.Error("annotating demo pod", "pod", proc.key, "err", err)
	}
}

// copyCRI turns a process stream into CRI log lines ("<RFC3339Nano> <stream> F <line>").
func copyCRI(r io.Reader, path, stream string, mu *sync.Mutex) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		_, _ = io.Copy(io.Discard, r)
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := time.Now().UTC().Format(time.RFC3339Nano) + " " + stream + " F " + sc.Text() + "\n"
		mu.Lock()
		_, _ = f.WriteString(line)
		mu.Unlock()
	}
}

func (s *supervisor) stopProc(proc *demoProc) {
	s.mu.Lock()
	proc.stopping = true
	s.mu.Unlock()
	pid := proc.cmd.Process.Pid
	_ = killGroup(pid, syscall.SIGTERM)
	select {
	case <-proc.done:
	case <-time.After(5 * time.Second):
		_ = killGroup(pid, syscall.SIGKILL)
		<-proc.done
	}
	s.log.Info("stopped demo app", "pod", proc.key)
}

func (s *supervisor) stopAll() {
	s.mu.Lock()
	procs := make([]*demoProc, 0, len(s.procs))
	for _, p := range s.procs {
		procs = append(procs, p)
	}
	s.procs = map[string]*demoProc{}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() { defer wg.Done(); s.stopProc(p) }()
	}
	wg.Wait()
	s.writeTargets()
}

// targetGroup is one Prometheus file_sd entry.
type targetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// writeTargets publishes ready demo processes as Prometheus file_sd targets labelled like a cluster's
// pod scrape (namespace, pod, container, app, rollouts_pod_template_hash).
func (s *supervisor) writeTargets() {
	s.targetsMu.Lock()
	defer s.targetsMu.Unlock()
	s.mu.Lock()
	groups := []targetGroup{}
	for _, p := range s.procs {
		if !p.ready {
			continue
		}
		l := map[string]string{"namespace": p.ns, "pod": p.name, "container": p.container, "node": p.node}
		if v := p.labels["app"]; v != "" {
			l["app"] = v
		}
		if v := p.labels["rollouts-pod-template-hash"]; v != "" {
			l["rollouts_pod_template_hash"] = v
		}
		groups = append(groups, targetGroup{Targets: []string{fmt.Sprintf("127.0.0.1:%d", p.port)}, Labels: l})
	}
	s.mu.Unlock()
	groups = append(groups, s.shapeTargets()...)
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].Targets[0] < groups[j].Targets[0] })
	b, _ := json.MarshalIndent(groups, "", " ")
	dir := filepath.Join(s.dir, "prometheus", "targets")
	tmp := filepath.Join(dir, ".pods.json.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		s.log.Error("writing prometheus targets", "err", err)
		return
	}
	_ = os.Rename(tmp, filepath.Join(dir, "pods.json"))
}

// traffic sends a steady request rate through every Service with a selector, round-robin over the
// ready demo processes it selects, so each revision's share of requests follows its share of pods.
func (s *supervisor) traffic(ctx context.Context) {
	const tick = 100 * time.Millisecond
	credit := map[string]float64{}
	next := map[string]int{}
	sem := make(chan struct{}, 64)
	t := time.NewTicker(tick)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Credit by elapsed time, not ticks: a loaded machine drops ticks but the rate must hold.
		elapsed := time.Since(last).Seconds()
		last = time.Now()
		svcs, err := s.svcs.List(labels.Everything())
		if err != nil {
			continue
		}
		for _, svc := range svcs {
			if len(svc.Spec.Selector) == 0 {
				continue
			}
			rps := float64(defaultRPS)
			if v, ok := svc.Annotations[TrafficAnnotation]; ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
					rps = f
				}
			}
			sel := labels.SelectorFromSet(svc.Spec.Selector)
			var targets []*demoProc
			s.mu.Lock()
			for _, p := range s.procs {
				if p.ready && p.ns == svc.Namespace && sel.Matches(labels.Set(p.labels)) {
					targets = append(targets, p)
				}
			}
			s.mu.Unlock()
			key := svc.Namespace + "/" + svc.Name
			if len(targets) == 0 || rps == 0 {
				delete(credit, key)
				continue
			}
			sort.Slice(targets, func(i, j int) bool { return targets[i].port < targets[j].port })
			credit[key] += rps * min(elapsed, 1)
			for credit[key] >= 1 {
				credit[key]--
				p := targets[next[key]%len(targets)]
				next[key]++
				select {
				case sem <- struct{}{}:
					go func() {
						defer func() { <-sem }()
						start := time.Now()
						resp, err := s.httpClient.Get(fmt.Sprintf("http://127.0.0.1:%d/color", p.port))
						if err != nil {
							return // no answer: nothing a sidecar or proxy would count as this pod's response
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						s.recordShapes(svc, p.name, resp.StatusCode, time.Since(start))
					}()
				default: // saturated: drop rather than queue without bound
				}
			}
		}
	}
}

// kubeStateCollector exports kube-state-metrics-named series from the pod cache.
type kubeStateCollector struct{ s *supervisor }

var (
	ksmLimits   = prometheus.NewDesc("kube_pod_container_resource_limits", "Container resource limits.", []string{"namespace", "pod", "uid", "container", "node", "resource", "unit"}, nil)
	ksmRequests = prometheus.NewDesc("kube_pod_container_resource_requests", "Container resource requests.", []string{"namespace", "pod", "uid", "container", "node", "resource", "unit"}, nil)
	ksmRestarts = prometheus.NewDesc("kube_pod_container_status_restarts_total", "Container restarts.", []string{"namespace", "pod", "uid", "container"}, nil)
	ksmReady    = prometheus.NewDesc("kube_pod_container_status_ready", "Container readiness.", []string{"namespace", "pod", "uid", "container"}, nil)
	ksmPhase    = prometheus.NewDesc("kube_pod_status_phase", "Pod phase.", []string{"namespace", "pod", "uid", "phase"}, nil)
	ksmInfo     = prometheus.NewDesc("kube_pod_info", "Pod information.", []string{"namespace", "pod", "uid", "node", "pod_ip", "host_ip"}, nil)
	ksmLabels   = prometheus.NewDesc("kube_pod_labels", "Pod labels.", []string{"namespace", "pod", "uid", "label_app", "label_rollouts_pod_template_hash"}, nil)
)

func (k *kubeStateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{ksmLimits, ksmRequests, ksmRestarts, ksmReady, ksmPhase, ksmInfo, ksmLabels} {
		ch <- d
	}
}

func (k *kubeStateCollector) Collect(ch chan<- prometheus.Metric) {
	pods, err := k.s.pods.List(labels.Everything())
	if err != nil {
		return
	}
	k.s.mu.Lock()
	restarts := make(map[types.UID]int, len(k.s.restarts))
	for uid, n := range k.s.restarts {
		restarts[uid] = n
	}
	k.s.mu.Unlock()
	for _, p := range pods {
		uid := string(p.UID)
		ch <- prometheus.MustNewConstMetric(ksmInfo, prometheus.GaugeValue, 1, p.Namespace, p.Name, uid, p.Spec.NodeName, p.Status.PodIP, p.Status.HostIP)
		ch <- prometheus.MustNewConstMetric(ksmLabels, prometheus.GaugeValue, 1, p.Namespace, p.Name, uid, p.Labels["app"], p.Labels["rollouts-pod-template-hash"])
		for _, phase := range []corev1.PodPhase{corev1.PodPending, corev1.PodRunning, corev1.PodSucceeded, corev1.PodFailed, corev1.PodUnknown} {
			v := 0.0
			if p.Status.Phase == phase {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(ksmPhase, prometheus.GaugeValue, v, p.Namespace, p.Name, uid, string(phase))
		}
		status := map[string]corev1.ContainerStatus{}
		for _, cs := range p.Status.ContainerStatuses {
			status[cs.Name] = cs
		}
		_, demo := isDemoPod(p)
		for _, c := range p.Spec.Containers {
			for _, r := range []struct {
				desc *prometheus.Desc
				list corev1.ResourceList
			}{{ksmLimits, c.Resources.Limits}, {ksmRequests, c.Resources.Requests}} {
				if q, ok := r.list[corev1.ResourceCPU]; ok {
					ch <- prometheus.MustNewConstMetric(r.desc, prometheus.GaugeValue, q.AsApproximateFloat64(), p.Namespace, p.Name, uid, c.Name, p.Spec.NodeName, "cpu", "core")
				}
				if q, ok := r.list[corev1.ResourceMemory]; ok {
					ch <- prometheus.MustNewConstMetric(r.desc, prometheus.GaugeValue, q.AsApproximateFloat64(), p.Namespace, p.Name, uid, c.Name, p.Spec.NodeName, "memory", "byte")
				}
			}
			n := float64(status[c.Name].RestartCount)
			if demo {
				n += float64(restarts[p.UID])
			}
			ch <- prometheus.MustNewConstMetric(ksmRestarts, prometheus.CounterValue, n, p.Namespace, p.Name, uid, c.Name)
			ready := 0.0
			if status[c.Name].Ready {
				ready = 1
			}
			ch <- prometheus.MustNewConstMetric(ksmReady, prometheus.GaugeValue, ready, p.Namespace, p.Name, uid, c.Name)
		}
	}
}
