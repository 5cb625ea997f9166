package testenv_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/fixloop/fixloop/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The apiserver authenticates service-account tokens and RBAC denies what they were not granted.
func TestRBACDeniesUnprivilegedServiceAccount(t *testing.T) {
	e := testenv.Get(t)
	ns := e.NewNamespace(t, "rbac")
	admin := e.Clientset(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "nobody"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tok, err := admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "nobody", &authv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	userCfg := rest.AnonymousClientConfig(e.RestConfig)
	userCfg.BearerToken = tok.Status.Token
	user := kubernetes.NewForConfigOrDie(userCfg)

	_, err = user.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("unprivileged token listing pods: want 403 Forbidden, got %v", err)
	}
	if !strings.Contains(err.Error(), "system:serviceaccount:"+ns+":nobody") {
		t.Errorf("403 should name the service account, got %v", err)
	}
	if _, err := admin.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("admin listing pods: %v", err)
	}
	// A forged token is not even authenticated.
	userCfg.BearerToken = tok.Status.Token[:len(tok.Status.Token)-4] + "AAAA"
	_, err = kubernetes.NewForConfigOrDie(userCfg).CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Fatalf("forged token: want 401 Unauthorized, got %v", err)
	}
}

func stepIndex(u *unstructured.Unstructured) int64 {
	i, _, _ := unstructured.NestedInt64(u.Object, "status", "currentStepIndex")
	return i
}

func paused(u *unstructured.Unstructured) bool {
	pc, _, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions")
	return len(pc) > 0
}

// podsOfHash counts Running pods of one revision.
func podsOfHash(t *testing.T, cs kubernetes.Interface, ns, app, hash string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app + ",rollouts-pod-template-hash=" + hash})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
			n++
		}
	}
	return n
}

// promote does what `kubectl argo rollouts promote` does.
func promote(t *testing.T, e *testenv.Env, ns, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ri := e.Dynamic(t).Resource(testenv.RolloutGVR).Namespace(ns)
	if _, err := ri.Patch(ctx, name, types.MergePatchType, []byte(`{"status":{"pauseConditions":null}}`), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatalf("promote (status patch): %v", err)
	}
	if _, err := ri.Patch(ctx, name, types.MergePatchType, []byte(`{"spec":{"paused":false}}`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("promote (spec patch): %v", err)
	}
}

// The real Argo Rollouts controller steps a canary: 20% → pause → promote → 50% → pause → promote → done.
func TestRolloutCanaryStepsDrivenByController(t *testing.T) {
	e := testenv.Get(t)
	ns := e.NewNamespace(t, "canary")
	cs := e.Clientset(t)
	e.DeployDemoRollout(t, ns, testenv.DemoRollout{Name: "web", Replicas: 5})
	stable := e.WaitRollout(t, ns, "web", func(*unstructured.Unstructured) bool { return true }, time.Second)
	stableHash, _, _ := unstructured.NestedString(stable.Object, "status", "stableRS")

	e.UpdateDemoRollout(t, ns, "web", map[string]string{"COLOR": "green"})
	u := e.WaitRollout(t, ns, "web", func(u *unstructured.Unstructured) bool {
		h, _, _ := unstructured.NestedString(u.Object, "status", "currentPodHash")
		return stepIndex(u) == 1 && paused(u) && h != stableHash
	}, 90*time.Second)
	canaryHash, _, _ := unstructured.NestedString(u.Object, "status", "currentPodHash")
	// Without traffic routing Argo reaches a weight through replica counts, rounding both sides up:
	// 20% of 5 is 1 canary + 4 stable, 50% is 3 + 3.
	waitCount(t, "canary pods at setWeight 20", 1, func() int { return podsOfHash(t, cs, ns, "web", canaryHash) })
	waitCount(t, "stable pods at setWeight 20", 4, func() int { return podsOfHash(t, cs, ns, "web", stableHash) })

	promote(t, e, ns, "web")
	e.WaitRollout(t, ns, "web", func(u *unstructured.Unstructured) bool { return stepIndex(u) == 3 && paused(u) }, 90*time.Second)
	waitCount(t, "canary pods at setWeight 50", 3, func() int { return podsOfHash(t, cs, ns, "web", canaryHash) })
	waitCount(t, "stable pods at setWeight 50", 3, func() int { return podsOfHash(t, cs, ns, "web", stableHash) })

	promote(t, e, ns, "web")
	e.WaitRollout(t, ns, "web", func(u *unstructured.Unstructured) bool {
		phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		st, _, _ := unstructured.NestedString(u.Object, "status", "stableRS")
		return phase == "Healthy" && st == canaryHash
	}, 120*time.Second)
}

func waitCount(t *testing.T, what string, want int, get func() int) {
	t.Helper()
	testenv.WaitFor(t, fmt.Sprintf("%d %s", want, what), 250*time.Millisecond, 60*time.Second, func() (bool, string) {
		got := get()
		return got == want, fmt.Sprintf("got %d", got)
	})
}

// Demo pods are real processes: Prometheus scrapes them as pods and their output is the pod log.
func TestDemoPodsMetricsAndLogs(t *testing.T) {
	e := testenv.Get(t)
	ns := e.NewNamespace(t, "workload")
	cs := e.Clientset(t)
	e.DeployDemoRollout(t, ns, testenv.DemoRollout{Name: "shop", Replicas: 2, Color: "purple"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=shop"})
	if err != nil || len(pods.Items) != 2 {
		t.Fatalf("demo pods: %v (%d)", err, len(pods.Items))
	}

	t.Run("prometheus", func(t *testing.T) {
		client, err := promapi.NewClient(promapi.Config{Address: e.PrometheusURL})
		if err != nil {
			t.Fatal(err)
		}
		api := promv1.NewAPI(client)
		want := map[string]string{}
		for _, p := range pods.Items {
			want[p.Name] = p.Labels["rollouts-pod-template-hash"]
		}
		query := `sum by (namespace, pod, container, app, rollouts_pod_template_hash) (http_requests_total{namespace="` + ns + `"})`
		var vec model.Vector
		testenv.WaitFor(t, fmt.Sprintf("one series per pod %v from %s", want, query), time.Second, 60*time.Second, func() (bool, string) {
			qctx, qcancel := context.WithTimeout(context.Background(), 10*time.Second)
			v, _, _, err := api.Query(qctx, query, time.Now())
			qcancel()
			if err != nil {
				return false, err.Error()
			}
			vec, _ = v.(model.Vector)
			return len(vec) == len(want), fmt.Sprintf("%d series", len(vec))
		})
		for _, s := range vec {
			pod := string(s.Metric["pod"])
			hash, ok := want[pod]
			if !ok {
				t.Errorf("series for unknown pod %q: %v", pod, s.Metric)
				continue
			}
			if s.Metric["rollouts_pod_template_hash"] != model.LabelValue(hash) || s.Metric["app"] != "shop" || s.Metric["container"] != testenv.DemoContainer {
				t.Errorf("series labels %v: want rollouts_pod_template_hash=%s app=shop container=%s", s.Metric, hash, testenv.DemoContainer)
			}
		}
		for _, q := range []string{
			`kube_pod_container_resource_limits{namespace="` + ns + `",resource="cpu",unit="core"} == 0.5`,
			`container_memory_working_set_bytes{namespace="` + ns + `"} > 1e6`,
			`kube_pod_container_status_restarts_total{namespace="` + ns + `"}`,
		} {
			var n int
			err := testenv.Poll(context.Background(), time.Second, 30*time.Second, func() (bool, string) {
				qctx, qcancel := context.WithTimeout(context.Background(), 10*time.Second)
				v, _, _, err := api.Query(qctx, q, time.Now())
				qcancel()
				if err == nil {
					n = len(v.(model.Vector))
				}
				return n == len(want), fmt.Sprintf("err %v", err)
			})
			if err != nil {
				t.Errorf("%s: %d series, want %d (%v)", q, n, len(want), err)
			}
		}
	})

	t.Run("logs", func(t *testing.T) {
		pod := pods.Items[0].Name
		marker := "fixloop-smoke-marker " + time.Now().Format(time.RFC3339Nano)
		e.AppendPodLog(t, ns, pod, marker)
		var text string
		testenv.WaitFor(t, fmt.Sprintf("the appended marker and the app's access log in the pod log of %s/%s through the apiserver", ns, pod),
			500*time.Millisecond, 30*time.Second, func() (bool, string) {
				lctx, lcancel := context.WithTimeout(context.Background(), 10*time.Second)
				b, err := cs.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: testenv.DemoContainer}).DoRaw(lctx)
				lcancel()
				text = string(b)
				return err == nil && strings.Contains(text, marker) && strings.Contains(text, `color=purple`), fmt.Sprintf("err %v:\n%.2000s", err, text)
			})
		// The supervisor's traffic reaches the pod: its access log has request lines.
		if !strings.Contains(text, `msg=request`) {
			t.Errorf("no access log lines in %s/%s", ns, pod)
		}
	})
}
