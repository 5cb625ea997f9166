package report

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/store"
)

// memKV is the KV of a real SQLite store in a temp dir (the table reports live in).
func memKV(t *testing.T) KV {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// judged runs the real judge over a labelled scenario with metrics, plus hostile log lines.
func judged(t *testing.T, extraCanary string) Report {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "canary", "error-rate-metric")
	in, err := judge.LoadFiles(judge.Files{Stable: filepath.Join(dir, "stable.log"), Canary: filepath.Join(dir, "canary.log"),
		StableMetrics: filepath.Join(dir, "stable-metrics.json"), CanaryMetrics: filepath.Join(dir, "canary-metrics.json")})
	if err != nil {
		t.Fatal(err)
	}
	if extraCanary != "" {
		recs, err := judge.ParseLogs(strings.NewReader(strings.Repeat(extraCanary+"\n", 30)), "canary-0")
		if err != nil {
			t.Fatal(err)
		}
		in.Canary = append(in.Canary, recs...)
	}
	in.Namespace, in.Rollout = "shop", "checkout"
	v, err := judge.Judge(context.Background(), in, judge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return New(*v, in)
}

const xssLine = `ERROR payment failed for <script>alert(document.domain)</script><img src=x onerror=alert(1)> token=ghp_0123456789abcdefghijABCDEFGHIJ012345`

func TestRenderEscapesLogTextAndRedacts(t *testing.T) {
	r := judged(t, xssLine)
	r.Metrics = append(r.Metrics, Series{Name: `<script>alert("m")</script>`, Stable: []float64{1, 2}, Canary: []float64{3, 4}})
	r.Links.Issue = "javascript:alert(1)"
	page, err := Render(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	html := string(page.HTML)
	for _, bad := range []string{"<script", "<img", "javascript:alert", "ghp_0123456789abcdefghij"} {
		if strings.Contains(strings.ToLower(html), strings.ToLower(bad)) {
			t.Errorf("page contains %q unescaped or unredacted", bad)
		}
	}
	if !strings.Contains(html, "&lt;script&gt;alert(document.domain)&lt;/script&gt;") {
		t.Error("the hostile log line is not shown escaped (was it dropped from the diff?)")
	}
	for _, want := range []string{"default-src 'none'", "script-src 'none'", "'unsafe-hashes'", "frame-ancestors 'none'"} {
		if !strings.Contains(page.CSP, want) {
			t.Errorf("CSP %q lacks %q", page.CSP, want)
		}
	}
	if strings.Contains(page.CSP, "'unsafe-inline'") {
		t.Errorf("CSP allows any inline style or script: %s", page.CSP)
	}
}

func TestRenderShowsVerdictChartsAndDiff(t *testing.T) {
	r := judged(t, "")
	if len(r.Metrics) == 0 {
		t.Fatal("the scenario's metrics did not become series")
	}
	page, err := Render(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	html := string(page.HTML)
	if got := strings.Count(html, "<svg "); got != len(r.Metrics) {
		t.Errorf("%d charts drawn for %d metrics", got, len(r.Metrics))
	}
	for _, want := range []string{`id="verdict"`, ">" + r.Verdict.Verdict + "<", "Root cause", "New in the canary", "Rate changed", "shop/checkout"} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestHandlerServesSavedReportsOnly(t *testing.T) {
	kv := memKV(t)
	rec := &Recorder{KV: kv, BaseURL: "https://fixloop.example/"}
	r := judged(t, "")
	url, err := rec.Save(context.Background(), &r)
	if err != nil {
		t.Fatal(err)
	}
	if url != "https://fixloop.example/reports/"+r.ID {
		t.Fatalf("url %q", url)
	}
	mux := http.NewServeMux()
	mux.Handle("/reports/{id}", Handler(kv, nil, nil))
	for path, code := range map[string]int{"/reports/" + r.ID: 200, "/reports/00000000000000000000000000000000": 404, "/reports/..%2f..%2fetc": 404} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != code {
			t.Errorf("GET %s: %d, want %d", path, w.Code, code)
		}
		if code == 200 && !strings.HasPrefix(w.Header().Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("no CSP on the page: %v", w.Header())
		}
	}
}

func TestSaveConcurrent(t *testing.T) {
	kv := memKV(t)
	rec := &Recorder{KV: kv}
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := Report{Verdict: judge.Verdict{Verdict: judge.Promote}}
			if _, err := rec.Save(context.Background(), &r); err != nil {
				t.Error(err)
			}
			ids[i] = r.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if _, err := Load(context.Background(), kv, id); err != nil {
			t.Errorf("report %s: %v", id, err)
		}
	}
}
