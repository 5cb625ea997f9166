package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/llm"
	"github.com/fixloop/fixloop/internal/llm/providers"
	"github.com/fixloop/fixloop/internal/prom"
	"github.com/fixloop/fixloop/internal/testenv"
	"github.com/fixloop/fixloop/tools"
)

const (
	benchSidePods  = 5
	benchSideLines = 20000 // per side, spread over its pods
)

// compare_canary end to end on the local cluster (kwok pod logs through the apiserver, Prometheus, the
// judge): 5 stable and 5 canary pods holding 20,000 log lines per side. Reports p50/p99 latency of the
// deterministic analysis, and the prompt tokens the LLM layer would send against the raw log tokens read.
func BenchmarkCompareCanary10Pods(b *testing.B) {
	e := testenv.Get(b)
	ns := e.NewNamespace(b, "benchcc")
	for _, side := range []string{"stable", "canary"} {
		e.DeployDemoRollout(b, ns, testenv.DemoRollout{Name: "bench-" + side, Replicas: benchSidePods})
	}
	raw := fillSideLogs(b, e, ns, "bench-stable", false) + fillSideLogs(b, e, ns, "bench-canary", true)
	kc, err := kube.NewFromConfig(e.RestConfig, "testenv", kube.Options{})
	if err != nil {
		b.Fatal(err)
	}
	pc, err := prom.New(e.PrometheusURL, 10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	d := tools.Deps{Kube: kc, Prom: pc}
	in := tools.CompareCanaryInput{Namespace: ns, StableSelector: "app=bench-stable", CanarySelector: "app=bench-canary", SinceSeconds: 600}
	loadStart := loadAverage() // the machine is shared: a reader judges the figure by the load around it
	var lat []time.Duration
	var out *tools.CompareCanaryOutput
	analyse := func() {
		start := time.Now()
		if out, err = tools.CompareCanary(context.Background(), d, in); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	for b.Loop() {
		analyse()
	}
	for len(lat) < 20 { // enough samples for the percentiles whatever -benchtime allowed
		analyse()
	}
	reportPercentiles(b, lat)
	b.Logf("compare_canary over %d+%d pods, %d lines per side: %s at confidence %d; p50 %s p99 %s over %d runs (load average %s at start, %s at end)",
		benchSidePods, benchSidePods, benchSideLines, out.Verdict, out.Confidence, percentile(lat, 0.5).Round(time.Millisecond),
		percentile(lat, 0.99).Round(time.Millisecond), len(lat), loadStart, loadAverage())

	// The same without Prometheus: logs through the apiserver and the judge alone.
	logsOnly := in
	logsOnly.SkipMetrics = true
	var llat []time.Duration
	for range 10 {
		start := time.Now()
		if _, err := tools.CompareCanary(context.Background(), d, logsOnly); err != nil {
			b.Fatal(err)
		}
		llat = append(llat, time.Since(start))
	}
	reportNamed(b, llat, "logs-only")

	// The LLM layer: the prompt a model would get for this verdict (a local stand-in answers).
	d.LLM = standInModel(b)
	withLLM, err := tools.CompareCanary(context.Background(), d, in)
	if err != nil || withLLM.LLM == nil {
		b.Fatalf("compare_canary with the stand-in model: %v (llm report %v)", err, withLLM)
	}
	b.ReportMetric(float64(withLLM.LLM.EstimatedTokens), "prompt-tokens")
	b.ReportMetric(float64(raw), "raw-log-tokens")
	b.Logf("LLM prompt %d tokens vs raw logs %d tokens (%.2f%%)", withLLM.LLM.EstimatedTokens, raw, 100*float64(withLLM.LLM.EstimatedTokens)/float64(raw))
}

// fillSideLogs appends benchSideLines realistic lines over the side's pods (the canary adds a new error
// and slower requests) and returns the raw tokens of everything their logs now hold.
func fillSideLogs(b *testing.B, e *testenv.Env, ns, app string, canary bool) int {
	b.Helper()
	cs := e.Clientset(b)
	ctx := context.Background()
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil || len(pods.Items) != benchSidePods {
		b.Fatalf("pods of %s: %v (%d)", app, err, len(pods.Items))
	}
	per := benchSideLines / len(pods.Items)
	for pi, p := range pods.Items {
		lines := make([]string, 0, per)
		for i := 0; i < per; i++ {
			lines = append(lines, benchLine(pi*per+i, canary))
		}
		e.AppendPodLog(b, ns, p.Name, lines...)
	}
	tokens := 0
	for _, p := range pods.Items {
		tokens += podLogTokens(b, cs, p)
	}
	return tokens
}

func benchLine(i int, canary bool) string {
	paths := []string{"/api/items", "/api/cart", "/api/orders", "/healthz"}
	switch {
	case canary && i%50 == 7:
		return fmt.Sprintf(`level=ERROR msg="charge failed: payment gateway timeout" order_id=%d attempt=3 duration_ms=%d`, 100000+i, 3000+i%500)
	case i%97 == 3:
		return fmt.Sprintf(`level=WARN msg="slow query" table=orders rows=%d duration_ms=%d`, i%400, 200+i%300)
	case i%211 == 5:
		return fmt.Sprintf(`{"level":"info","ts":"2025-11-21T10:00:%02dZ","msg":"cache refreshed","entries":%d,"took_ms":%d}`, i%60, 1000+i%77, i%40)
	}
	ms := 5 + i%40
	if canary {
		ms += 15
	}
	return fmt.Sprintf(`level=INFO msg="request served" method=GET path=%s status=200 duration_ms=%d request_id=%08x user=%d`, paths[i%len(paths)], ms, i*2654435761, i%997)
}

// podLogTokens is the estimated token count of the pod's log over the analysis window, as an LLM would
// count it if the raw log were sent.
func podLogTokens(b *testing.B, cs kubernetes.Interface, p corev1.Pod) int {
	since := int64(600)
	raw, err := cs.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{SinceSeconds: &since}).DoRaw(context.Background())
	if err != nil {
		b.Fatalf("log of %s: %v", p.Name, err)
	}
	return llm.EstimateTokens(string(raw))
}

func percentile(lat []time.Duration, q float64) time.Duration {
	s := append([]time.Duration(nil), lat...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(q*float64(len(s)-1))]
}

// standInModel is a local OpenAI-compatible server answering with an agreeing verdict (only the prompt
// size is measured), labelled as a stand-in in its model name.
func standInModel(b *testing.B) llm.Provider {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		answer, _ := json.Marshal(map[string]any{"verdict": "abort", "promote": false, "confidence": 90,
			"analysis": "stand-in model", "rootCause": "stand-in", "remediation": "stand-in"})
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "created": 1, "model": "stand-in",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": string(answer)}}},
			"usage":   map[string]any{"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}})
	}))
	b.Cleanup(ts.Close)
	p, err := providers.New(llm.Config{Provider: "openai", Model: "stand-in", BaseURL: ts.URL + "/v1", APIKey: "k", MaxAttempts: 1})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// loadAverage is the machine's 1-minute load average, printed beside timings taken on a shared machine.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}
