package tools_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/prom"
	"github.com/fixloop/fixloop/internal/testenv"
	"github.com/fixloop/fixloop/tools"
)

// canaryCluster is what the compare_canary cluster tests share: the test environment, a namespace of
// their own and tools.Deps on its real apiserver and Prometheus.
type canaryCluster struct {
	e  *testenv.Env
	ns string
	d  tools.Deps
	pc prom.Client
}

func newCanaryCluster(t testing.TB, nsPrefix string) *canaryCluster {
	t.Helper()
	e := testenv.Get(t)
	kc, err := kube.NewFromConfig(e.RestConfig, "testenv", kube.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := prom.New(e.PrometheusURL, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return &canaryCluster{e: e, ns: e.NewNamespace(t, nsPrefix), d: tools.Deps{Kube: kc, Prom: pc}, pc: pc}
}

// pausedCanaries deploys each rollout (its Services and Ingresses, if any, must exist), waits for its stable
// revision, gives the canary its canaryEnv and waits until it pauses, all at once (deploys mostly wait on the
// controller); it returns both revisions' pod-template hashes per rollout.
func (c *canaryCluster) pausedCanaries(t testing.TB, rs []testenv.DemoRollout, canaryEnv []map[string]string) map[string][2]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	var mu sync.Mutex
	hashes := map[string][2]string{}
	g, gctx := errgroup.WithContext(ctx)
	for i, r := range rs {
		g.Go(func() error {
			s, cn, err := c.startCanary(gctx, r, canaryEnv[i])
			mu.Lock()
			hashes[r.Name] = [2]string{s, cn}
			mu.Unlock()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	return hashes
}

func (c *canaryCluster) startCanary(ctx context.Context, r testenv.DemoRollout, canaryEnv map[string]string) (stableHash, canaryHash string, err error) {
	if err := c.e.DeployDemo(ctx, c.ns, r); err != nil {
		return "", "", err
	}
	status := func(u *unstructured.Unstructured, f string) string {
		v, _, _ := unstructured.NestedString(u.Object, "status", f)
		return v
	}
	u, err := c.rolloutWhen(ctx, r.Name, func(u *unstructured.Unstructured) bool { return status(u, "stableRS") != "" })
	if err != nil {
		return "", "", err
	}
	stableHash = status(u, "stableRS")
	if err := c.e.UpdateDemo(ctx, c.ns, r.Name, canaryEnv); err != nil {
		return "", "", err
	}
	u, err = c.rolloutWhen(ctx, r.Name, func(u *unstructured.Unstructured) bool {
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions")
		h := status(u, "currentPodHash")
		return h != "" && h != stableHash && len(conds) > 0
	})
	if err != nil {
		return "", "", err
	}
	return stableHash, status(u, "currentPodHash"), nil
}

// rolloutWhen polls a rollout until cond holds (or ctx ends, naming the last state seen).
func (c *canaryCluster) rolloutWhen(ctx context.Context, name string, cond func(*unstructured.Unstructured) bool) (*unstructured.Unstructured, error) {
	dyn, err := dynamic.NewForConfig(c.e.RestConfig)
	if err != nil {
		return nil, err
	}
	var last any
	for {
		u, err := dyn.Resource(testenv.RolloutGVR).Namespace(c.ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil && cond(u) {
			return u, nil
		}
		if err == nil {
			last = u.Object["status"]
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("rollout %s/%s: condition not met: last status %v (controller log %s/logs/argo-rollouts.log)", c.ns, name, last, c.e.Dir)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// compare runs compare_canary with a deadline; an error fails the test.
func (c *canaryCluster) compare(t *testing.T, in tools.CompareCanaryInput) *tools.CompareCanaryOutput {
	t.Helper()
	if in.Namespace == "" {
		in.Namespace = c.ns
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := tools.CompareCanary(ctx, c.d, in)
	if err != nil {
		t.Fatalf("compare_canary %+v: %v", in, err)
	}
	return out
}

// waitSamples waits until Prometheus holds at least n scraped samples of the series selected by sel in
// the last window, so a verdict reads settled data rather than a scrape or two of a seconds-old pod.
func (c *canaryCluster) waitSamples(t testing.TB, sel string, n int, window time.Duration) {
	t.Helper()
	q := fmt.Sprintf(`min(count_over_time(%s[%s]))`, sel, model.Duration(window))
	waitFor(t, fmt.Sprintf("%d samples of %s in Prometheus", n, sel), 4*time.Minute, func() (bool, string) {
		v, _, err := c.pc.Query(context.Background(), q, time.Now())
		if err != nil {
			return false, err.Error()
		}
		vec, _ := v.(model.Vector)
		if len(vec) == 0 || math.IsNaN(float64(vec[0].Value)) {
			return false, "no series yet"
		}
		return float64(vec[0].Value) >= float64(n), fmt.Sprintf("%g samples", float64(vec[0].Value))
	})
}
