package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Component versions; hack/build-testenv.sh builds the same ones into the cache.
const (
	EtcdVersion     = "v3.6.8"
	K8sVersion      = "v1.36.4"
	KwokVersion     = "v0.8.0"
	RolloutsVersion = "v1.8.3"
	// Built from ../shared when it is there (hack/build-testenv.sh metric-ai rollouts-demo).
	MetricAICommit     = "12538eb"
	RolloutsDemoCommit = "f528fdd"
)

// CacheDir is where hack/build-testenv.sh leaves the binaries: $FIXLOOP_CACHE/testenv or
// ~/.cache/fixloop/testenv.
func CacheDir() string {
	base := os.Getenv("FIXLOOP_CACHE")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			home = os.TempDir()
		}
		base = filepath.Join(home, ".cache", "fixloop")
	}
	return filepath.Join(base, "testenv")
}

// binaries locates every executable and asset the environment runs.
type binaries struct {
	Etcd, APIServer, ControllerManager, Scheduler, Kwok, Rollouts, Prometheus string
	KwokCRDs, KwokStages, RolloutsCRDs                                        string
	// Optional: "" when ../shared was absent when the cache was built.
	MetricAI, RolloutsDemo string
}

func findBinaries(cache string) (*binaries, error) {
	b := &binaries{
		Etcd:              filepath.Join(cache, "etcd-"+EtcdVersion, "etcd"),
		APIServer:         filepath.Join(cache, "kubernetes-"+K8sVersion, "kube-apiserver"),
		ControllerManager: filepath.Join(cache, "kubernetes-"+K8sVersion, "kube-controller-manager"),
		Scheduler:         filepath.Join(cache, "kubernetes-"+K8sVersion, "kube-scheduler"),
		Kwok:              filepath.Join(cache, "kwok-"+KwokVersion, "kwok"),
		KwokCRDs:          filepath.Join(cache, "kwok-"+KwokVersion, "crds"),
		KwokStages:        filepath.Join(cache, "kwok-"+KwokVersion, "stages"),
		Rollouts:          filepath.Join(cache, "argo-rollouts-"+RolloutsVersion, "rollouts-controller"),
		RolloutsCRDs:      filepath.Join(cache, "argo-rollouts-"+RolloutsVersion, "crds"),
	}
	for p, dst := range map[string]*string{
		filepath.Join(cache, "metric-ai-"+MetricAICommit, "metric-ai"):             &b.MetricAI,
		filepath.Join(cache, "rollouts-demo-"+RolloutsDemoCommit, "rollouts-demo"): &b.RolloutsDemo,
	} {
		if _, err := os.Stat(p); err == nil {
			*dst = p
		}
	}
	var missing []string
	check := func(path, component, fix string) {
		if _, err := os.Stat(path); err != nil {
			missing = append(missing, fmt.Sprintf("%s (%s): %s", component, path, fix))
		}
	}
	build := func(c string) string { return "build it with `make testenv-build` (hack/build-testenv.sh " + c + ")" }
	check(b.Etcd, "etcd "+EtcdVersion, build("etcd"))
	check(b.APIServer, "kube-apiserver "+K8sVersion, build("k8s"))
	check(b.ControllerManager, "kube-controller-manager "+K8sVersion, build("k8s"))
	check(b.Scheduler, "kube-scheduler "+K8sVersion, build("k8s"))
	check(b.Kwok, "kwok "+KwokVersion, build("kwok"))
	check(filepath.Join(b.KwokCRDs, "kwok.x-k8s.io_logs.yaml"), "kwok Logs CRD", build("kwok"))
	check(filepath.Join(b.KwokStages, "node-initialize.yaml"), "kwok stages", build("kwok"))
	check(b.Rollouts, "argo-rollouts controller "+RolloutsVersion, build("rollouts"))
	check(filepath.Join(b.RolloutsCRDs, "rollout-crd.yaml"), "argo-rollouts CRDs", build("rollouts"))
	if p, err := exec.LookPath("prometheus"); err == nil {
		b.Prometheus = p
	} else {
		missing = append(missing, "prometheus (not on PATH): install it with `apt-get install --no-install-recommends prometheus`")
	}
	if len(missing) > 0 {
		return nil, errors.New("test environment components missing:\n  " + strings.Join(missing, "\n  "))
	}
	return b, nil
}
