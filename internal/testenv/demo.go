package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/fixloop/fixloop/internal/kube"
)

const (
	// DemoImage marks a container the supervisor backs with a local `fixloop demo-app` process.
	DemoImage = "fixloop/demo-app:latest"
	// DemoContainer is the container name DeployDemoRollout uses.
	DemoContainer = "app"
	// EndpointAnnotation is set by the supervisor on a demo pod: the loopback address of its process.
	EndpointAnnotation = "fixloop.dev/local-endpoint"
	// TrafficAnnotation on a Service sets the generator's requests per second ("0" turns it off).
	TrafficAnnotation = "fixloop.dev/rps"
)

// DemoRollout describes a demo app Rollout.
type DemoRollout struct {
	Name     string
	Replicas int32             // default 5, so setWeight 20 is one canary pod
	Steps    []map[string]any  // raw Argo canary steps; default [setWeight 20, pause{}, setWeight 50, pause{}]
	Env      map[string]string // demo app knobs (ERROR_RATE, LATENCY_MS, PANIC_RATE, ...)
	Color    string            // COLOR; default blue
	Image    string            // DemoImage (default) or RolloutsDemoImage
	// Extra is merged into spec.strategy.canary (stableMetadata, canaryMetadata, analysis, ...).
	Extra map[string]any
}

// DefaultSteps are the canary steps used when DemoRollout.Steps is empty.
func DefaultSteps() []map[string]any {
	return []map[string]any{
		{"setWeight": int64(20)}, {"pause": map[string]any{}},
		{"setWeight": int64(50)}, {"pause": map[string]any{}},
	}
}

func demoEnv(color string, env map[string]string) []any {
	m := map[string]string{}
	for k, v := range env {
		m[k] = v
	}
	if color != "" {
		m["COLOR"] = color
	}
	if m["COLOR"] == "" {
		m["COLOR"] = "blue"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, 0, len(keys))
	for _, k := range keys {
		out = append(out, map[string]any{"name": k, "value": m[k]})
	}
	return out
}

// DemoObjects builds (without creating) the Service and Argo Rollout DeployDemo creates: pods labelled
// app=<Name>, one container DemoContainer running DemoImage with the knobs as env, canary strategy.
func DemoObjects(ns string, r DemoRollout) (*corev1.Service, *unstructured.Unstructured) {
	if r.Replicas == 0 {
		r.Replicas = 5
	}
	steps := r.Steps
	if len(steps) == 0 {
		steps = DefaultSteps()
	}
	image := r.Image
	if image == "" {
		image = DemoImage
	}
	rawSteps := make([]any, len(steps))
	for i, s := range steps {
		rawSteps[i] = s
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: r.Name, Namespace: ns, Labels: map[string]string{"app": r.Name}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": r.Name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	ro := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "Rollout",
		"metadata":   map[string]any{"name": r.Name, "namespace": ns, "labels": map[string]any{"app": r.Name}},
		"spec": map[string]any{
			"replicas":             int64(r.Replicas),
			"revisionHistoryLimit": int64(3),
			"selector":             map[string]any{"matchLabels": map[string]any{"app": r.Name}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": r.Name}},
				"spec": map[string]any{
					"containers": []any{map[string]any{
						"name":  DemoContainer,
						"image": image,
						"env":   demoEnv(r.Color, r.Env),
						"ports": []any{map[string]any{"name": "http", "containerPort": int64(8080)}},
						"resources": map[string]any{
							"requests": map[string]any{"cpu": "50m", "memory": "32Mi"},
							"limits":   map[string]any{"cpu": "500m", "memory": "128Mi"},
						},
					}},
				},
			},
			"strategy": map[string]any{"canary": canaryStrategy(rawSteps, r.Extra)},
		},
	}}
	return svc, ro
}

// DeployDemoRollout creates a Service and an Argo Rollout of the demo app and waits until the Rollout is
// Healthy and every pod is backed by a running local process.
func (e *Env) DeployDemoRollout(t testing.TB, ns string, r DemoRollout) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := e.DeployDemo(ctx, ns, r); err != nil {
		t.Fatal(err)
	}
}

// DeployDemo is DeployDemoRollout for callers without a testing.TB (the CLI and the demo); the
// namespace must exist.
func (e *Env) DeployDemo(ctx context.Context, ns string, r DemoRollout) error {
	if r.Name == "" {
		return fmt.Errorf("DeployDemo: Name is empty")
	}
	if r.Replicas == 0 {
		r.Replicas = 5
	}
	cs, err := kubernetes.NewForConfig(e.RestConfig)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(e.RestConfig)
	if err != nil {
		return err
	}
	svc, ro := DemoObjects(ns, r)
	if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating service %s/%s: %w", ns, r.Name, err)
	}
	if _, err := dyn.Resource(RolloutGVR).Namespace(ns).Create(ctx, ro, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating rollout %s/%s: %w", ns, r.Name, err)
	}
	if _, err := e.waitRollout(ctx, ns, r.Name, func(u *unstructured.Unstructured) bool {
		ro := kube.ParseRollout(u)
		return ro.Phase == "Healthy" && ro.AvailableReplica == int64(r.Replicas)
	}, 90*time.Second); err != nil {
		return err
	}
	return e.waitDemoProcesses(ctx, ns, "app="+r.Name, int(r.Replicas), 60*time.Second)
}

// waitDemoProcesses waits until want pods matching selector carry the supervisor's endpoint annotation.
func (e *Env) waitDemoProcesses(ctx context.Context, ns, selector string, want int, timeout time.Duration) error {
	cs, err := kubernetes.NewForConfig(e.RestConfig)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		pods, err := cs.CoreV1().Pods(ns).List(lctx, metav1.ListOptions{LabelSelector: selector})
		cancel()
		backed := 0
		if err == nil {
			for _, p := range pods.Items {
				if p.DeletionTimestamp == nil && p.Annotations[EndpointAnnotation] != "" {
					backed++
				}
			}
		}
		if backed >= want {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("only %d of %d demo pods (%s in %s) got a local process within %s (err %w); see %s",
				backed, want, selector, ns, timeout, err, filepath.Join(e.Dir, "logs", "supervisor.log"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// UpdateDemoRollout changes the demo container's env (a new revision, so the Rollout starts a canary).
// Keys in env override the current ones; an empty value removes the key.
func (e *Env) UpdateDemoRollout(t testing.TB, ns, name string, env map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.UpdateDemo(ctx, ns, name, env); err != nil {
		t.Fatal(err)
	}
}

// UpdateDemo is UpdateDemoRollout for callers without a testing.TB.
func (e *Env) UpdateDemo(ctx context.Context, ns, name string, env map[string]string) error {
	dyn, err := dynamic.NewForConfig(e.RestConfig)
	if err != nil {
		return err
	}
	return UpdateDemoEnv(ctx, dyn, ns, name, env)
}

// UpdateDemoEnv merges env into the first container's env of Rollout ns/name (empty value = remove).
func UpdateDemoEnv(ctx context.Context, dyn dynamic.Interface, ns, name string, env map[string]string) error {
	ri := dyn.Resource(RolloutGVR).Namespace(ns)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		u, err := ri.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		if len(containers) == 0 {
			return fmt.Errorf("rollout %s/%s has no containers", ns, name)
		}
		c, _ := containers[0].(map[string]any)
		cur := map[string]string{}
		if list, ok := c["env"].([]any); ok {
			for _, item := range list {
				m, _ := item.(map[string]any)
				k, _ := m["name"].(string)
				v, _ := m["value"].(string)
				cur[k] = v
			}
		}
		for k, v := range env {
			if v == "" {
				delete(cur, k)
			} else {
				cur[k] = v
			}
		}
		c["env"] = demoEnv("", cur)
		containers[0] = c
		if err := unstructured.SetNestedSlice(u.Object, containers, "spec", "template", "spec", "containers"); err != nil {
			return err
		}
		_, err = ri.Update(ctx, u, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("updating rollout %s/%s: %w", ns, name, err)
	}
	return nil
}

// WaitRollout polls the Rollout until cond holds and returns it; on timeout it fails the test with the
// Rollout's status.
func (e *Env) WaitRollout(t testing.TB, ns, name string, cond func(u *unstructured.Unstructured) bool, timeout time.Duration) *unstructured.Unstructured {
	t.Helper()
	u, err := e.waitRollout(context.Background(), ns, name, cond, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *Env) waitRollout(ctx context.Context, ns, name string, cond func(u *unstructured.Unstructured) bool, timeout time.Duration) (*unstructured.Unstructured, error) {
	dyn, err := dynamic.NewForConfig(e.RestConfig)
	if err != nil {
		return nil, err
	}
	ri := dyn.Resource(RolloutGVR).Namespace(ns)
	deadline := time.Now().Add(timeout)
	var last *unstructured.Unstructured
	var lastErr error
	for {
		gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		u, err := ri.Get(gctx, name, metav1.GetOptions{})
		cancel()
		if err == nil {
			last = u
			if cond(u) {
				return u, nil
			}
		} else {
			lastErr = err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			summary := "(never read)"
			if last != nil {
				ro := kube.ParseRollout(last)
				step := -1
				if ro.CurrentStepIndex != nil {
					step = *ro.CurrentStepIndex
				}
				summary = fmt.Sprintf("phase=%q message=%q currentStepIndex=%d", ro.Phase, ro.Message, step)
			}
			return nil, fmt.Errorf("rollout %s/%s: condition not met within %s: %s (last error %w; controller log %s)",
				ns, name, timeout, summary, lastErr, filepath.Join(e.Dir, "logs", "argo-rollouts.log"))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// PodLogPath is the CRI-format file kwok serves as the log of one container.
func PodLogPath(dir, ns, pod, container string) string {
	return filepath.Join(dir, "pods", ns+"_"+pod, container+".log")
}

// AppendPodLog appends lines to the log of the pod's first container, as served by the apiserver's
// pod log endpoint, registering the log with kwok when the supervisor has not (pods without a process).
func (e *Env) AppendPodLog(t testing.TB, ns, pod string, lines ...string) {
	t.Helper()
	cs := e.Clientset(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := cs.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("AppendPodLog: pod %s/%s: %v", ns, pod, err)
	}
	if len(p.Spec.Containers) == 0 {
		t.Fatalf("AppendPodLog: pod %s/%s has no containers", ns, pod)
	}
	path := PodLogPath(e.Dir, ns, pod, p.Spec.Containers[0].Name)
	if err := appendCRILines(path, "stdout", lines); err != nil {
		t.Fatalf("AppendPodLog: %v", err)
	}
	cur, err := e.Dynamic(t).Resource(logsGVR).Namespace(ns).Get(ctx, pod, metav1.GetOptions{})
	owner := cur != nil && len(cur.GetOwnerReferences()) > 0 && cur.GetOwnerReferences()[0].UID == p.UID
	if apierrors.IsNotFound(err) || (err == nil && !owner) {
		if err = registerLogs(ctx, e.Dynamic(t), e.Dir, p); err == nil {
			err = waitLogServed(ctx, cs, p, lines[len(lines)-1])
		}
	}
	if err != nil {
		t.Fatalf("AppendPodLog: registering pod %s/%s's log with kwok: %v", ns, pod, err)
	}
}

// waitLogServed waits until kwok serves the pod's new log file (its Logs informer lags the apiserver;
// until then it serves the empty default).
func waitLogServed(ctx context.Context, cs kubernetes.Interface, p *corev1.Pod, last string) error {
	tail := int64(1)
	opts := &corev1.PodLogOptions{Container: p.Spec.Containers[0].Name, TailLines: &tail}
	var got string
	for {
		b, err := cs.CoreV1().Pods(p.Namespace).GetLogs(p.Name, opts).DoRaw(ctx)
		got = string(b)
		if err == nil && strings.Contains(got, strings.TrimSpace(last)) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kwok did not serve the new log within 30 s (last answer %q, %v)", got, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// appendCRILines writes lines in the CRI log format kubelets use: "<RFC3339Nano> <stream> F <line>".
func appendCRILines(path, stream string, lines []string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, l := range lines {
		for _, part := range strings.Split(strings.TrimRight(l, "\n"), "\n") {
			fmt.Fprintf(&b, "%s %s F %s\n", time.Now().UTC().Format(time.RFC3339Nano), stream, part)
		}
	}
	_, err = f.WriteString(b.String())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func canaryStrategy(steps []any, extra map[string]any) map[string]any {
	c := map[string]any{"steps": steps}
	for k, v := range extra {
		c[k] = v
	}
	return c
}
