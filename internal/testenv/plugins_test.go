package testenv_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fixloop/fixloop/internal/testenv"
)

// The Argo controller copied fixloop's metric plugin (and the AI plugin when ../shared was there) from
// argo-rollouts-config at start, and runs with a KUBECONFIG its plugins inherit (without one, plugins
// that read the cluster failed with "no configuration has been provided").
func TestControllerLoadsMetricPluginsWithClusterCredentials(t *testing.T) {
	e := testenv.Get(t)
	if e.MetricPlugin(testenv.FixloopPluginName) == "" {
		t.Fatalf("fixloop's metric plugin is not registered: build it with `make plugin` before `make testenv-up`")
	}
	log, err := os.ReadFile(filepath.Join(e.Dir, "logs", "argo-rollouts.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{testenv.FixloopPluginName, testenv.MetricAIPluginName} {
		bin := e.MetricPlugin(name)
		if bin == "" {
			t.Logf("%s not registered (its source in ../shared was absent when the cache was built)", name)
			continue
		}
		if !strings.Contains(string(log), "Copied plugin from "+bin) {
			t.Errorf("the controller did not copy %s from %s:\n%s", name, bin, log)
		}
		if _, err := os.Stat(filepath.Join(e.Dir, "plugin-bin", name)); err != nil {
			t.Errorf("%s not in the controller's plugin folder: %v", name, err)
		}
	}
	pid, err := os.ReadFile(filepath.Join(e.Dir, "pids", "argo-rollouts.pid"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
	environ, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(n), "environ"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(environ), "KUBECONFIG="+filepath.Join(e.Dir, "kubeconfigs", "rollouts.kubeconfig")) {
		t.Fatal("the controller runs without KUBECONFIG: its plugins cannot read the cluster")
	}
}
