package report

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromium finds the Debian package's browser; a missing one fails the test (CI installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("headless Chromium not found: install the Debian package chromium (apt-get install chromium; .ci/run does)")
	return ""
}

// runChromium loads url headless and returns the DOM it built and the browser's log (console
// messages, CSP violations).
func runChromium(t *testing.T, url string, extra ...string) (dom, log string) {
	t.Helper()
	bin := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + t.TempDir(),
		"--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000"}, extra...)
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errb.String())
	}
	return out.String(), errb.String()
}

// consoleProblem matches what Chromium logs for a page's console errors and refused resources.
var consoleProblem = regexp.MustCompile(`(?i)CONSOLE.*(error|refused|content security policy)|Uncaught`)

func TestReportInHeadlessChromium(t *testing.T) {
	kv := memKV(t)
	r := judged(t, xssLine)
	if _, err := (&Recorder{KV: kv}).Save(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/reports/{id}", Handler(kv, nil, nil))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	url := srv.URL + "/reports/" + r.ID

	dom, log := runChromium(t, url, "--dump-dom")
	if n := strings.Count(dom, "<svg"); n != len(r.Metrics) || n == 0 {
		t.Errorf("browser DOM has %d svg charts, want %d", n, len(r.Metrics))
	}
	if !regexp.MustCompile(`id="verdict"[^>]*>` + r.Verdict.Verdict + `<`).MatchString(dom) {
		t.Errorf("browser DOM does not show the verdict %q", r.Verdict.Verdict)
	}
	if strings.Contains(dom, "<script") {
		t.Error("a log line became a script element in the browser")
	}
	if m := consoleProblem.FindAllString(log, -1); len(m) > 0 {
		t.Errorf("console errors or CSP refusals while rendering: %q", m)
	}

	shot := filepath.Join(t.TempDir(), "report.png")
	_, _ = runChromium(t, url, "--screenshot="+shot, "--window-size=1280,2000")
	if st, err := os.Stat(shot); err != nil || st.Size() < 10_000 {
		t.Fatalf("no screenshot of the report (%v)", err)
	}
}

// The offline page of fixloop judge --html carries its policy itself; it must render as cleanly.
func TestReportFileInHeadlessChromium(t *testing.T) {
	r := judged(t, xssLine)
	html, err := RenderFile(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, html, 0o600); err != nil {
		t.Fatal(err)
	}
	dom, log := runChromium(t, "file://"+path, "--dump-dom")
	if n := strings.Count(dom, "<svg"); n != len(r.Metrics) || n == 0 {
		t.Errorf("browser DOM has %d svg charts, want %d", n, len(r.Metrics))
	}
	if strings.Contains(dom, "<script") {
		t.Error("a log line became a script element in the browser")
	}
	if m := consoleProblem.FindAllString(log, -1); len(m) > 0 {
		t.Errorf("console errors or CSP refusals while rendering: %q", m)
	}
}
