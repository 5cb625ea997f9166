package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// judge --html writes the verdict page next to the JSON: same verdict, one chart per metric.
func TestJudgeHTMLReport(t *testing.T) {
	c := func(file string) string { return filepath.Join(canaryCases, "error-rate-metric", file) }
	page := filepath.Join(t.TempDir(), "verdict.html")
	out, code, err := runJudge(t, "", "--stable", c("stable.log"), "--canary", c("canary.log"),
		"--stable-metrics", c("stable-metrics.json"), "--canary-metrics", c("canary-metrics.json"), "--html", page)
	if code != 0 {
		t.Fatalf("exit %d: %v", code, err)
	}
	var v struct{ Verdict string }
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	s := string(html)
	if !strings.Contains(s, `verdict-`+v.Verdict+`">`+v.Verdict+`<`) || !strings.Contains(s, "<svg ") ||
		!strings.Contains(s, `http-equiv="Content-Security-Policy"`) {
		t.Errorf("page does not show verdict %q with charts and its policy:\n%.600s", v.Verdict, s)
	}
	if _, code, _ := runJudge(t, "", "--stable", c("stable.log"), "--canary", c("canary.log"), "--html", filepath.Join(t.TempDir(), "no", "dir.html")); code == 0 {
		t.Error("an unwritable --html path did not fail")
	}
}
