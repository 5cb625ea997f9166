package testenv

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fixloop/fixloop/internal/freeport"
)

func (s *supervisor) startProc(ctx context.Context, p *corev1.Pod, container string) {
	port, err := freeport.Get()
	if err != nil {
		s.log.Error("no port for demo pod", "err", err)
		return
	}
	cmd, err := s.backendCommand(p, port)
	if err != nil {
		s.log.Error("no local program for pod", "pod", p.Namespace+"/"+p.Name, "err", err)
		return
	}
	cmd.Env = containerEnv(p, container)
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
	go s.reap(proc, &wg, logPath, pidName)
	go s.markReady(ctx, proc)
}

// containerEnv is the demo process's environment: the pod's identity and the container's literal env
// values (valueFrom needs a kubelet, so it is left out).
func containerEnv(p *corev1.Pod, container string) []string {
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
	return env
}

// reap waits for the demo process to exit (its logs copied first) and, unless it was being stopped,
// marks the pod for reconcile to start it again.
func (s *supervisor) reap(proc *demoProc, wg *sync.WaitGroup, logPath, pidName string) {
	key, cmd, container := proc.key, proc.cmd, proc.container
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
