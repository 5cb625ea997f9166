package report

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// After the verdict, the report learns its issue and its fix; the page shows them and the fix's
// latest state (a hand-off moving on to a pull request) without the report being written again.
func TestReportPageShowsIssueFixAndHandoffState(t *testing.T) {
	ctx := context.Background()
	kv := memKV(t)
	rec := &Recorder{KV: kv, BaseURL: "https://fixloop.example"}
	r := judged(t, "")
	url, err := rec.Save(ctx, &r)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Link(ctx, url, Links{Issue: "https://github.com/acme/shop/issues/7"}); err != nil {
		t.Fatal(err)
	}
	if err := rec.Link(ctx, "https://fixloop.example/reports/nope", Links{Issue: "x"}); err == nil {
		t.Error("a URL that is no report was accepted")
	}
	fp := r.Verdict.Fingerprint
	if fp == "" {
		t.Fatal("the scenario's verdict has no fingerprint")
	}
	mux := http.NewServeMux()
	mux.Handle("/reports/{id}", Handler(kv, nil, nil))
	get := func() string {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", "/reports/"+r.ID, nil))
		if w.Code != 200 {
			t.Fatalf("GET: %d %s", w.Code, w.Body)
		}
		return w.Body.String()
	}
	page := get()
	if !strings.Contains(page, `href="https://github.com/acme/shop/issues/7"`) || strings.Contains(page, `id="fix"`) {
		t.Errorf("want the issue link and no fix yet:\n%s", page)
	}
	if err := SaveFix(ctx, kv, Fix{Fingerprint: fp, Fixer: "label:jules", State: "handed_off", Issue: "https://github.com/acme/shop/issues/7"}); err != nil {
		t.Fatal(err)
	}
	if page = get(); !strings.Contains(page, "label:jules") || !strings.Contains(page, "handed off") {
		t.Errorf("hand-off state not shown:\n%s", page)
	}
	_ = SaveFix(ctx, kv, Fix{Fingerprint: fp, Fixer: "label:jules", State: "pr_open", PR: "https://github.com/acme/shop/pull/8"})
	if page = get(); !strings.Contains(page, "pull request open") || !strings.Contains(page, `href="https://github.com/acme/shop/pull/8"`) {
		t.Errorf("PR state not shown:\n%s", page)
	}
	_ = SaveFix(ctx, kv, Fix{Fingerprint: fp, Fixer: "label:jules", State: "handed_off", Flagged: true, PR: "javascript:alert(1)"})
	if page = get(); !strings.Contains(page, "flagged: no pull request in time") || strings.Contains(page, "javascript:alert") {
		t.Errorf("flag not shown, or a hostile link kept:\n%s", page)
	}
}
