package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// Options configure Start.
type Options struct {
	Dir        string    // state directory (created); everything the environment writes stays in it
	FixloopBin string    // binary run as the pod supervisor and demo app; default: this executable
	PluginBin  string    // fixloop's metric plugin; default: rollouts-plugin-fixloop beside FixloopBin
	Nodes      int       // kwok nodes; default 2
	Progress   io.Writer // one line per step; nil = silent
}

// state is env.json: what Load needs to reattach to a running environment.
type state struct {
	Dir           string         `json:"dir"`
	Kubeconfig    string         `json:"kubeconfig"`
	APIServerURL  string         `json:"apiServerURL"`
	PrometheusURL string         `json:"prometheusURL"`
	SupervisorURL string         `json:"supervisorURL"`
	CAFile        string         `json:"caFile"`
	FixloopBin    string         `json:"fixloopBin"`
	Ports         map[string]int `json:"ports"`
	Nodes         []string       `json:"nodes"`
	StartedAt     time.Time      `json:"startedAt"`
	ReadyAfter    string         `json:"readyAfter,omitempty"`
	// MetricPlugins the Argo controller loaded (name → binary); RolloutsDemoBin backs argoproj/rollouts-demo
	// pods ("" when ../shared was absent at build time).
	MetricPlugins   map[string]string `json:"metricPlugins,omitempty"`
	RolloutsDemoBin string            `json:"rolloutsDemoBin,omitempty"`
}

const stateFile = "env.json"

var (
	crdGVR  = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	logsGVR = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "logs"}
	// RolloutGVR is Argo Rollouts' Rollout resource.
	RolloutGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}
)

// Subpaths of the state dir that Start recreates; nothing else in Dir is touched.
var stateSubpaths = []string{stateFile, "pki", "kubeconfigs", "data", "logs", "pids", "pods", "prometheus", "kwok", "certs", "plugin-bin"}

// Start brings the whole environment up in o.Dir and returns when every component answers. If an
// environment already runs healthy there, it is returned as is.
func Start(ctx context.Context, o Options) (*Env, error) {
	begin := time.Now()
	if o.Dir == "" {
		return nil, errors.New("testenv: Options.Dir is empty")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	progress := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "[testenv %5.1fs] %s\n", time.Since(begin).Seconds(), fmt.Sprintf(format, args...))
		}
	}
	if e, err := Load(dir); err == nil {
		progress("already running in %s", dir)
		return e, nil
	}
	if o.FixloopBin == "" {
		if o.FixloopBin, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("cannot locate the fixloop binary for the pod supervisor: %w", err)
		}
	}
	if o.Nodes <= 0 {
		o.Nodes = 2
	}
	bins, err := findBinaries(CacheDir())
	if err != nil {
		return nil, err
	}
	// Leftovers of an earlier run (crashed or not stopped) would hold ports and stale state.
	if err := Stop(dir); err != nil {
		return nil, err
	}
	for _, p := range stateSubpaths {
		if err := os.RemoveAll(filepath.Join(dir, p)); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s := &starter{dir: dir, o: o, bins: bins, progress: progress, ports: map[string]int{}}
	e, err := s.run(ctx)
	if err != nil {
		_ = Stop(dir)
		return nil, err
	}
	e.st.ReadyAfter = time.Since(begin).Round(100 * time.Millisecond).String()
	if err := writeState(dir, e.st); err != nil {
		_ = Stop(dir)
		return nil, err
	}
	progress("ready: kubeconfig %s", e.Kubeconfig)
	return e, nil
}

type starter struct {
	dir         string
	o           Options
	bins        *binaries
	progress    func(string, ...any)
	ports       map[string]int
	env         []string
	ca          *pki
	certs       map[string][2]string // name → cert, key files
	saPub       string
	saKey       string
	kubeconfigs map[string]string // identity → kubeconfig path
	apiURL      string
	etcdURL     string
	promURL     string
	cs          kubernetes.Interface
	dyn         dynamic.Interface
	plugins     map[string]string // metric plugin name → binary loaded by the Argo controller
}

func (s *starter) path(p ...string) string { return filepath.Join(append([]string{s.dir}, p...)...) }

// run starts every component in dependency order; each step is one function below (start_components.go).
func (s *starter) run(ctx context.Context) (*Env, error) {
	if err := s.allocatePorts(); err != nil {
		return nil, err
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KUBECONFIG=") {
			s.env = append(s.env, kv)
		}
	}
	steps := []func(context.Context) error{s.issueCertificates, s.startEtcd, s.startAPIServer, s.installCRDs,
		s.startControllerManager, s.startScheduler, s.startKwok, s.startRollouts, s.startPrometheus}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	nodes, err := s.createNodes(ctx)
	if err != nil {
		return nil, err
	}
	st := &state{
		Dir: s.dir, Kubeconfig: s.kubeconfigs["admin"], APIServerURL: s.apiURL, PrometheusURL: s.promURL,
		SupervisorURL: fmt.Sprintf("http://127.0.0.1:%d", s.ports["supervisor"]),
		CAFile:        s.ca.CAFile, FixloopBin: s.o.FixloopBin, Ports: s.ports, Nodes: nodes, StartedAt: time.Now(),
		MetricPlugins: s.plugins, RolloutsDemoBin: s.bins.RolloutsDemo,
	}
	if err := s.startSupervisor(st); err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx, st, nodes); err != nil {
		return nil, err
	}
	return newEnv(st)
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func createNode(ctx context.Context, cs kubernetes.Interface, name string) error {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("64Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{"type": "kwok", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
				"kubernetes.io/arch": "amd64", "kubernetes.io/role": "agent"},
		},
		// Both address types up front: kwok's node-initialize stage rewrites the list (dropping the
		// InternalIP the apiserver dials for logs) whenever either is missing, e.g. after a missed heartbeat.
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity, Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: name}}},
	}
	_, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating node %s: %w", name, err)
	}
	return nil
}

// applyCRDs creates the CRDs in files and polls until each is Established (an immediate wait races).
func applyCRDs(ctx context.Context, dyn dynamic.Interface, files []string) error {
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		for _, doc := range strings.Split(string(b), "\n---") {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				return fmt.Errorf("parsing CRD %s: %w", f, err)
			}
			if obj == nil || obj["kind"] != "CustomResourceDefinition" {
				continue
			}
			u := &unstructured.Unstructured{Object: obj}
			_, err := dyn.Resource(crdGVR).Create(ctx, u, metav1.CreateOptions{})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("creating CRD %s from %s: %w", u.GetName(), f, err)
			}
			names = append(names, u.GetName())
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, n := range names {
		for {
			u, err := dyn.Resource(crdGVR).Get(ctx, n, metav1.GetOptions{})
			if err == nil && crdEstablished(u) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("CRD %s not Established after 60s", n)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

func crdEstablished(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

func tlsClient(caFile, certFile, keyFile string) (*http.Client, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}}, nil
}

// waitHTTP polls url until it answers 200; on timeout the error names the component and its log tail.
func (s *starter) waitHTTP(ctx context.Context, name, url string, c *http.Client, timeout time.Duration) error {
	return s.poll(ctx, name, timeout, func() (bool, string) {
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
		resp, err := c.Do(req)
		if err != nil {
			return false, err.Error()
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Sprintf("%s answered %d: %s", url, resp.StatusCode, strings.TrimSpace(string(body)))
		}
		return true, ""
	})
}

// poll runs check every 100ms until it succeeds, the component's process dies, or timeout.
func (s *starter) poll(ctx context.Context, name string, timeout time.Duration, check func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		ok, why := check()
		if ok {
			return nil
		}
		last = why
		if pid := pidOf(s.dir, name); pid > 0 && !alive(pid) {
			return fmt.Errorf("%s exited during startup (%s); last lines of %s:\n%s", name, last,
				s.path("logs", name+".log"), tail(s.path("logs", name+".log"), 25))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s (%s); last lines of %s:\n%s", name, timeout, last,
				s.path("logs", name+".log"), tail(s.path("logs", name+".log"), 25))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func pidOf(dir, name string) int {
	for _, p := range readPids(dir) {
		if p.name == name {
			return p.pid
		}
	}
	return 0
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func writeState(dir string, st *state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, stateFile))
}

func readState(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s is corrupt: %w", filepath.Join(dir, stateFile), err)
	}
	return &st, nil
}

// Load attaches to the environment running in dir, checking the apiserver answers.
func Load(dir string) (*Env, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	st, err := readState(abs)
	if err != nil {
		return nil, fmt.Errorf("no test environment in %s (%w): start one with `fixloop testenv up --dir %s` or `make testenv-up`", abs, err, abs)
	}
	e, err := newEnv(st)
	if err != nil {
		return nil, err
	}
	c, err := tlsClient(st.CAFile, filepath.Join(abs, "pki", "client-admin.crt"), filepath.Join(abs, "pki", "client-admin.key"))
	if err != nil {
		return nil, fmt.Errorf("test environment in %s has unreadable certificates: %w", abs, err)
	}
	resp, err := c.Get(st.APIServerURL + "/readyz")
	if err != nil {
		return nil, fmt.Errorf("test environment in %s is not running (kube-apiserver at %s: %w): restart it with `fixloop testenv up --dir %s`", abs, st.APIServerURL, err, abs)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("kube-apiserver at %s is not ready (%d)", st.APIServerURL, resp.StatusCode)
	}
	return e, nil
}

func newEnv(st *state) (*Env, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", st.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("reading admin kubeconfig %s: %w", st.Kubeconfig, err)
	}
	cfg.QPS, cfg.Burst, cfg.Timeout = 50, 100, 30*time.Second
	return &Env{Dir: st.Dir, Kubeconfig: st.Kubeconfig, RestConfig: cfg, PrometheusURL: st.PrometheusURL,
		APIServerURL: st.APIServerURL, st: st}, nil
}

// Stop kills every process group tracked in dir (supervisor and demo apps first), waits for them to
// exit and for their ports to close. Stopping a dir with nothing running is not an error.
func Stop(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	// Clients before the apiserver before etcd: an apiserver whose etcd vanished drains slowly.
	stageOf := func(name string) int {
		switch {
		case name == "supervisor" || strings.HasPrefix(name, "pod-"):
			return 0
		case name == "kube-apiserver":
			return 2
		case name == "etcd":
			return 3
		default:
			return 1
		}
	}
	stages := make([][]pidFile, 4)
	for _, p := range readPids(abs) {
		stages[stageOf(p.name)] = append(stages[stageOf(p.name)], p)
	}
	var errs []error
	for _, st := range stages {
		errs = append(errs, stopGroups(st, 10*time.Second))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if st, err := readState(abs); err == nil {
		deadline := time.Now().Add(15 * time.Second)
		for name, port := range st.Ports {
			for !portFree(port) {
				if time.Now().After(deadline) {
					return fmt.Errorf("port %d (%s) still open after stopping every tracked process", port, name)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		_ = os.Remove(filepath.Join(abs, stateFile))
	}
	return nil
}

// restConfigFor builds a client config from one of the per-component kubeconfigs.
func restConfigFor(kubeconfig string) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst, cfg.Timeout = 50, 100, 30*time.Second
	return cfg, nil
}
