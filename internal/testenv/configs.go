package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// heartbeatStage keeps nodes Ready. kwok v0.8.0's own heartbeat stage drops status.addresses on its
// first run, after which the apiserver cannot reach the node for logs, so this one carries them over.
const heartbeatStage = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-heartbeat-keep-addresses
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Running'
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'In'
      values:
      - 'True'
  delay:
    durationMilliseconds: 15000
    jitterDurationMilliseconds: 5000
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $lastTransitionTime := or .metadata.creationTimestamp $now }}
      conditions:
      {{ range NodeConditions }}
      - lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $lastTransitionTime | Quote }}
        message: {{ .message | Quote }}
        reason: {{ .reason | Quote }}
        status: {{ .status | Quote }}
        type: {{ .type | Quote }}
      {{ end }}
      {{ with .status.addresses }}
      addresses:
      {{ YAML . 1 }}
      {{ end }}
      {{ with .status.daemonEndpoints }}
      daemonEndpoints:
      {{ YAML . 1 }}
      {{ end }}
  immediateNextStage: true
`

// writeKwokConfig: 32 pod stages at once because each is one status patch that waits on a loaded
// apiserver, not on kwok's CPU (at 8, 10,000 pods took kwok 4 minutes to run after their creation).
func (s *starter) writeKwokConfig(certFile, keyFile string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  nodeIP: 127.0.0.1
  nodePort: %d
  serverAddress: 127.0.0.1:%d
  tlsCertFile: %s
  tlsPrivateKeyFile: %s
  enableDebuggingHandlers: true
  manageNodesWithAnnotationSelector: kwok.x-k8s.io/node=fake
  podPlayStageParallelism: 32
  nodePlayStageParallelism: 2
  nodeLeaseDurationSeconds: 40
  nodeLeaseParallelism: 2
  podsOnNodeSyncParallelism: 2
  enableCRDs:
  - Logs
`, s.ports["kwok"], s.ports["kwok"], certFile, keyFile)
	stages, _ := filepath.Glob(filepath.Join(s.bins.KwokStages, "*.yaml"))
	for _, f := range stages {
		c, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		b.WriteString("---\n")
		b.Write(c)
		if !strings.HasSuffix(string(c), "\n") {
			b.WriteString("\n")
		}
	}
	b.WriteString("---\n" + heartbeatStage)
	// Pods without a Logs object of their own (no process behind them) get an empty log: one default
	// here instead of 10,000 objects.
	empty := s.path("pods", "empty.log")
	if err := os.MkdirAll(filepath.Dir(empty), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		return "", err
	}
	fmt.Fprintf(&b, `---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: fixloop-testenv-empty
spec:
  logs:
  - logsFile: %s
`, empty)
	p := s.path("kwok", "kwok.yaml")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	return p, os.WriteFile(p, []byte(b.String()), 0o644)
}

// writePrometheusConfig scrapes the demo pods (file_sd written by the supervisor, one target per pod with
// its Kubernetes labels), the supervisor's kube-state-metrics endpoint, the Argo Rollouts controller and
// the fixloop servers a test registers (job fixloop).
func (s *starter) writePrometheusConfig() (string, error) {
	targets := s.path("prometheus", "targets")
	if err := os.MkdirAll(targets, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(targets, "pods.json"), []byte("[]\n"), 0o644); err != nil {
		return "", err
	}
	// fixloop processes under test (Env.ScrapeFixloop): their own /metrics, in a job of their own.
	if err := os.MkdirAll(s.path("prometheus", "fixloop"), 0o755); err != nil {
		return "", err
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 5s
  scrape_timeout: 4s
  evaluation_interval: 5s
scrape_configs:
- job_name: kubernetes-pods
  file_sd_configs:
  - files: [%q]
    refresh_interval: 5s
- job_name: kube-state-metrics
  honor_labels: true
  static_configs:
  - targets: ["127.0.0.1:%d"]
- job_name: argo-rollouts
  static_configs:
  - targets: ["127.0.0.1:%d"]
- job_name: fixloop
  file_sd_configs:
  - files: [%q]
    refresh_interval: 5s
`, filepath.Join(targets, "*.json"), s.ports["supervisor"], s.ports["rollouts-metrics"], filepath.Join(s.path("prometheus", "fixloop"), "*.json"))
	p := s.path("prometheus", "prometheus.yml")
	return p, os.WriteFile(p, []byte(cfg), 0o644)
}
