package testenv

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
