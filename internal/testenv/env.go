// Package testenv runs the real local cluster fixloop is tested against: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, kwok (nodes and pod lifecycle), the Argo Rollouts controller
// and Prometheus, all on loopback, plus a pod supervisor that backs demo-app pods with real local
// processes whose output is the pods' logs and whose /metrics Prometheus scrapes as those pods.
//
// Tests call Get(t); `fixloop testenv up|down|status` drives the same code from the shell.
package testenv

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Env is a running environment.
type Env struct {
	Dir           string       // state dir holding env.json, kubeconfigs, certs, logs, pids
	Kubeconfig    string       // admin kubeconfig path (client cert, cluster-admin)
	RestConfig    *rest.Config // admin
	PrometheusURL string       // e.g. http://127.0.0.1:9090
	APIServerURL  string
	st            *state
}

var shared struct {
	sync.Mutex
	env         *Env
	err         error
	selfStarted string // dir of an environment this test binary started (Main stops it)
	tmpBinDir   string
}

// Get returns the shared environment: the running one named by $FIXLOOP_TESTENV_DIR (make test starts
// one), else one started for this test binary (stopped by Main). It fails the test naming what is
// missing; it skips only under FIXLOOP_SKIP_CLUSTER=1 or -short.
func Get(t testing.TB) *Env {
	t.Helper()
	if os.Getenv("FIXLOOP_SKIP_CLUSTER") == "1" {
		t.Skip("FIXLOOP_SKIP_CLUSTER=1: skipping a test that needs the local cluster")
	}
	if testing.Short() {
		t.Skip("-short: skipping a test that needs the local cluster")
	}
	shared.Lock()
	defer shared.Unlock()
	if shared.env == nil && shared.err == nil {
		shared.env, shared.err = getShared()
	}
	if shared.err != nil {
		t.Fatalf("test environment unavailable: %v", shared.err)
	}
	return shared.env
}

func getShared() (*Env, error) {
	if dir := os.Getenv("FIXLOOP_TESTENV_DIR"); dir != "" {
		return Load(dir)
	}
	bin, err := fixloopBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "fixloop-testenv-")
	if err != nil {
		return nil, err
	}
	shared.selfStarted = dir
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// A separate process starts it, as `make testenv-up` does; the components outlive it by design.
	out, err := exec.CommandContext(ctx, bin, "testenv", "up", "--dir", dir).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("`%s testenv up --dir %s` failed: %w\n%s", bin, dir, err, out)
	}
	return Load(dir)
}

// fixloopBinary is $FIXLOOP_BIN, else a fixloop built once into a temp dir.
func fixloopBinary() (string, error) {
	if b := os.Getenv("FIXLOOP_BIN"); b != "" {
		if _, err := os.Stat(b); err != nil {
			return "", fmt.Errorf("FIXLOOP_BIN=%s: %w", b, err)
		}
		return b, nil
	}
	dir, err := os.MkdirTemp("", "fixloop-bin-")
	if err != nil {
		return "", err
	}
	shared.tmpBinDir = dir
	bin := filepath.Join(dir, "fixloop")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// The metric plugin goes beside it: the Argo controller loads it from there (file://).
	out, err := exec.CommandContext(ctx, "go", "build", "-o", dir+"/", "github.com/fixloop/fixloop/cmd/fixloop",
		"github.com/fixloop/fixloop/cmd/rollouts-plugin-fixloop").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building fixloop and its metric plugin for the test environment (set FIXLOOP_BIN to skip): %w\n%s", err, out)
	}
	return bin, nil
}

// MainParallel is Main running up to n parallel tests at once unless -parallel is given: cluster tests
// spend their time waiting on Prometheus scrapes, the Argo controller and leases, not on this process's
// CPU, so the default (GOMAXPROCS) would leave a package of them the longest of `make test`.
func MainParallel(m *testing.M, n int) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", strconv.Itoa(n))
	}
	Main(m)
}

// Main is a TestMain helper: it runs the tests, then stops an environment this binary started.
func Main(m *testing.M) {
	code := m.Run()
	shared.Lock()
	if shared.selfStarted != "" {
		if err := Stop(shared.selfStarted); err != nil {
			fmt.Fprintln(os.Stderr, "testenv: stopping the environment:", err)
			code = 1
		} else {
			_ = os.RemoveAll(shared.selfStarted)
		}
	}
	if shared.tmpBinDir != "" {
		_ = os.RemoveAll(shared.tmpBinDir)
	}
	shared.Unlock()
	os.Exit(code)
}

// Clientset is an admin clientset.
func (e *Env) Clientset(t testing.TB) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(e.RestConfig)
	if err != nil {
		t.Fatalf("clientset for %s: %v", e.APIServerURL, err)
	}
	return cs
}

// Dynamic is an admin dynamic client (Argo Rollouts objects: RolloutGVR).
func (e *Env) Dynamic(t testing.TB) dynamic.Interface {
	t.Helper()
	d, err := dynamic.NewForConfig(e.RestConfig)
	if err != nil {
		t.Fatalf("dynamic client for %s: %v", e.APIServerURL, err)
	}
	return d
}

// NewNamespace creates a namespace named prefix-<random>, waits for its default service account (pods
// are refused without it) and deletes it when the test ends.
func (e *Env) NewNamespace(t testing.TB, prefix string) string {
	t.Helper()
	cs := e.Clientset(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating namespace %s-*: %v", prefix, err)
	}
	name := ns.Name
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting namespace %s: %v", name, err)
		}
	})
	for {
		if _, err := cs.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{}); err == nil {
			return name
		}
		select {
		case <-ctx.Done():
			t.Fatalf("namespace %s: default service account not created within 60s (is kube-controller-manager running? see %s)",
				name, filepath.Join(e.Dir, "logs", "kube-controller-manager.log"))
		case <-time.After(100 * time.Millisecond):
		}
	}
}
