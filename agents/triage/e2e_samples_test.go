package triage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fixloop/fixloop/internal/testenv"
)

// soak waits until Prometheus holds at least samples successful scrapes of every running pod in ns (the testenv
// scrapes every 5 s), so logs and metrics hold enough evidence for a verdict however loaded the machine
// is, instead of sleeping a fixed time and hoping.
func soak(t *testing.T, e *testenv.Env, ns string, samples int) {
	t.Helper()
	client, err := promapi.NewClient(promapi.Config{Address: e.PrometheusURL})
	if err != nil {
		t.Fatal(err)
	}
	api, cs := promv1.NewAPI(client), e.Clientset(t)
	query := fmt.Sprintf(`sum_over_time(up{namespace=%q}[15m])`, ns)
	var last string
	err = wait.PollUntilContextTimeout(context.Background(), time.Second, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		v, _, _, err := api.Query(ctx, query, time.Now())
		if err != nil {
			last = err.Error()
			return false, nil
		}
		got := map[string]int{}
		if vec, ok := v.(model.Vector); ok {
			for _, s := range vec {
				got[string(s.Metric["pod"])] = int(s.Value)
			}
		}
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil && got[p.Name] < samples {
				last = fmt.Sprintf("pod %s has %d of %d samples", p.Name, got[p.Name], samples)
				return false, nil
			}
		}
		return len(pods.Items) > 0, nil
	})
	if err != nil {
		t.Fatalf("Prometheus never held %d samples of every pod in %s: %s", samples, ns, last)
	}
}
