package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// RolloutsDemoImage marks a container the supervisor backs with argoproj/rollouts-demo (built from
// ../shared into the component cache): the app of Argo Rollouts' own docs, with its knobs COLOR,
// ERROR_RATE (see its source: the share of 200s is ERROR_RATE%, the rest answer 500) and LATENCY (seconds).
const RolloutsDemoImage = "argoproj/rollouts-demo:blue"

// backend is a local program that backs the pods of one image.
type backend struct {
	image  string // image name prefix
	health string // path answering 200 once the process serves (no access-log line for it)
}

var (
	demoAppBackend      = &backend{image: "fixloop/demo-app", health: "/healthz"}
	rolloutsDemoBackend = &backend{image: "argoproj/rollouts-demo", health: "/"}
)

// backendOf returns the container and backend of the first container whose image the supervisor backs.
func backendOf(p *corev1.Pod) (string, *backend) {
	for _, c := range p.Spec.Containers {
		for _, b := range []*backend{demoAppBackend, rolloutsDemoBackend} {
			if strings.HasPrefix(c.Image, b.image) {
				return c.Name, b
			}
		}
	}
	return "", nil
}

// backendCommand is the process backing pod p, listening on 127.0.0.1:port.
func (s *supervisor) backendCommand(p *corev1.Pod, port int) (*exec.Cmd, error) {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	_, b := backendOf(p)
	switch b {
	case demoAppBackend:
		return exec.Command(s.st.FixloopBin, "demo-app", "--listen", addr), nil
	case rolloutsDemoBackend:
		if s.st.RolloutsDemoBin == "" {
			return nil, errors.New("rollouts-demo is not built (hack/build-testenv.sh rollouts-demo needs ../shared/rollouts-demo)")
		}
		// It serves its working directory at /: an empty one per pod, so / is a cheap health check.
		dir := filepath.Join(s.dir, "pods", "www", p.Namespace+"_"+p.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		cmd := exec.Command(s.st.RolloutsDemoBin, "--listen-addr", addr, "--termination-delay", "0")
		cmd.Dir = dir
		return cmd, nil
	}
	return nil, fmt.Errorf("pod %s/%s runs no image the supervisor backs", p.Namespace, p.Name)
}
