package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Metric plugin names as registered with the Argo controller of the environment.
const (
	FixloopPluginName  = "fixloop/canary"
	MetricAIPluginName = "argoproj-labs/metric-ai"
	// FixloopPluginBinary is the file name `make plugin` builds beside bin/fixloop.
	FixloopPluginBinary = "rollouts-plugin-fixloop"
)

// metricPlugins lists the plugins to register: fixloop's own (beside the fixloop binary, or
// Options.PluginBin) and the AI plugin when it was built from ../shared.
func (s *starter) metricPlugins() map[string]string {
	out := map[string]string{}
	bin := s.o.PluginBin
	if bin == "" {
		bin = filepath.Join(filepath.Dir(s.o.FixloopBin), FixloopPluginBinary)
	}
	if _, err := os.Stat(bin); err == nil {
		out[FixloopPluginName] = bin
	} else {
		s.progress("fixloop's metric plugin not registered (%v): build it with `make plugin`", err)
	}
	if s.bins.MetricAI != "" {
		out[MetricAIPluginName] = s.bins.MetricAI
	} else {
		s.progress("AI metric plugin not registered: it is built from ../shared/rollouts-plugin-metric-ai, absent at build time")
	}
	return out
}

// registerMetricPlugins writes argo-rollouts-config with file:// locations of locally built plugins.
// The controller copies them into <dir>/plugin-bin at start.
func (s *starter) registerMetricPlugins(ctx context.Context) error {
	s.plugins = s.metricPlugins()
	names := make([]string, 0, len(s.plugins))
	for n := range s.plugins {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "- name: %q\n  location: %q\n", n, "file://"+s.plugins[n])
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "argo-rollouts-config", Namespace: "argo-rollouts"},
		Data: map[string]string{"metricProviderPlugins": b.String()}}
	if len(names) == 0 {
		cm.Data = nil
	}
	_, err := s.cs.CoreV1().ConfigMaps("argo-rollouts").Create(ctx, cm, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = s.cs.CoreV1().ConfigMaps("argo-rollouts").Update(ctx, cm, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("registering metric plugins in argo-rollouts/argo-rollouts-config: %w", err)
	}
	return nil
}

// MetricPlugin returns the binary of a metric plugin the controller loaded, "" when it was not
// registered (see the testenv-up progress lines for why).
func (e *Env) MetricPlugin(name string) string { return e.st.MetricPlugins[name] }

// RolloutsDemoAvailable reports whether argoproj/rollouts-demo pods are backed by the real app.
func (e *Env) RolloutsDemoAvailable() bool { return e.st.RolloutsDemoBin != "" }
