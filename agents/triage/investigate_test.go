package triage

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fixloop/fixloop/tools"
)

// With no cluster and no Prometheus nothing can be read: the answer must say so (status unknown with the
// reasons), never that the workload is fine or that nothing needs changing.
func TestInvestigateWithNothingReadableIsUnknown(t *testing.T) {
	tr, _ := newTestTriage(t)
	res, err := tr.InvestigateService(context.Background(), InvestigateInput{Namespace: "default", Workload: "shop"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "unknown" {
		t.Errorf("status = %q, want unknown", res.Status)
	}
	reasons := strings.Join(res.Reasons, "\n")
	for _, want := range []string{"no cluster configured", "no Prometheus configured"} {
		if !strings.Contains(reasons, want) {
			t.Errorf("reasons lack %q: %q", want, res.Reasons)
		}
	}
	for _, lie := range []string{"No change needed", "No check crossed its threshold"} {
		if strings.Contains(res.FixPlan, lie) {
			t.Errorf("fix plan claims %q with nothing read:\n%s", lie, res.FixPlan)
		}
	}
	if !strings.Contains(res.FixPlan, "could not be assessed") {
		t.Errorf("fix plan does not say the workload could not be assessed:\n%s", res.FixPlan)
	}
	if !strings.Contains(res.Summary(), "could not be assessed") {
		t.Errorf("summary = %q", res.Summary())
	}
	raw, _ := json.Marshal(res)
	if !strings.Contains(string(raw), `"findings":[]`) {
		t.Errorf("findings not an empty array: %s", raw)
	}
	// kubectl needs a kind: the unknown-kind workload gets a command that finds it.
	if strings.Contains(res.FixPlan, "describe shop`") {
		t.Errorf("fix plan suggests describe without a kind:\n%s", res.FixPlan)
	}
}

func TestOverallStatus(t *testing.T) {
	ok := Finding{Check: "restarts", Severity: "ok"}
	skipped := Finding{Check: "latency_p95", Severity: "skipped"}
	crit := Finding{Check: "error_rate_5xx", Severity: "critical"}
	cases := []struct {
		name     string
		findings []Finding
		unread   []string
		want     string
	}{
		{"all ok and all read", []Finding{ok}, nil, "healthy"},
		{"ok but Prometheus unread", []Finding{ok}, []string{"no Prometheus"}, "unknown"},
		{"only skipped checks", []Finding{skipped}, nil, "unknown"},
		{"nothing at all", nil, nil, "unknown"},
		{"critical despite an unread source", []Finding{ok, crit}, []string{"logs"}, "critical"},
		{"warning", []Finding{{Severity: "warning"}}, nil, "degraded"},
	}
	for _, c := range cases {
		got, reasons := overallStatus(c.findings, c.unread)
		if got != c.want {
			t.Errorf("%s: status %q, want %q", c.name, got, c.want)
		}
		if got == "unknown" && len(reasons) == 0 {
			t.Errorf("%s: unknown without reasons", c.name)
		}
	}
}

func TestDescribeCommandNamesTheKind(t *testing.T) {
	if got := describeCommand("default", "rollout/shop"); got != "`kubectl -n default describe rollout/shop`" {
		t.Errorf("got %s", got)
	}
	if got := describeCommand("default", "shop"); !strings.Contains(got, "get rollouts.argoproj.io,deployments,statefulsets,daemonsets shop") {
		t.Errorf("got %s", got)
	}
}

func series(vals ...float64) tools.MetricResult {
	m := tools.MetricResult{Status: "ok", Series: []tools.MetricSeries{{}}}
	for i, v := range vals {
		m.Series[0].Points = append(m.Series[0].Points, [2]float64{float64(i * 15), v})
	}
	avg := 0.0
	for _, v := range vals {
		avg += v / float64(len(vals))
	}
	m.Avg = &avg
	return m
}

// A burst over a fifth of the window is not an incident; the same rate over most of it is.
func TestErrorRateIsGradedOnTheMedianNotOneSpike(t *testing.T) {
	req := series(10, 10, 10, 10, 10, 10, 10, 10, 10, 10)
	spike := map[string]tools.MetricResult{"request_rate": req, "rate_5xx": series(0, 0, 0, 0, 10, 10, 0, 0, 0, 0)}
	sustained := map[string]tools.MetricResult{"request_rate": req, "rate_5xx": series(0, 0, 3, 3, 3, 3, 3, 3, 3, 3)}
	if f := httpFindings(spike, "10m", 10*time.Minute, DefaultThresholds)[0]; f.Severity != "ok" {
		t.Errorf("spike graded %s: %s", f.Severity, f.Value)
	}
	if f := httpFindings(sustained, "10m", 10*time.Minute, DefaultThresholds)[0]; f.Severity != "critical" {
		t.Errorf("sustained 30%% graded %s: %s", f.Severity, f.Value)
	}
}

func TestRestartsInWindowCountsCounterGrowth(t *testing.T) {
	if f := restartsInWindow(series(7, 7, 7)); f.Severity != "ok" {
		t.Errorf("old restarts graded %s", f.Severity)
	}
	if f := restartsInWindow(series(0, 1, 2, 0, 2)); f.Severity != "critical" || f.Value != "4 restarts" {
		t.Errorf("crash loop graded %s (%s)", f.Severity, f.Value)
	}
}

// investigate_service (and the monitor through it) says where its HTTP checks read from, and why one
// that cannot run was skipped: no source found, or a source (Linkerd) that has no 4xx class.
func TestHTTPFindingsNameTheSourceOrWhyNone(t *testing.T) {
	why := "no HTTP metrics source found for these pods: no request series of istio, linkerd"
	none := map[string]tools.MetricResult{"request_rate": {Status: "missing", Why: why}}
	for _, f := range httpFindings(none, "10m", 10*time.Minute, DefaultThresholds) {
		if f.Severity != "skipped" || !strings.Contains(f.Evidence, why) {
			t.Errorf("%s: %s %q", f.Check, f.Severity, f.Evidence)
		}
	}
	req := series(10, 10, 10, 10, 10, 10, 10, 10, 10, 10)
	req.Source = "linkerd"
	linkerd := map[string]tools.MetricResult{"request_rate": req, "rate_5xx": series(0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
		"rate_4xx": {Status: "missing", Why: "linkerd has no rate_4xx (it classifies failures, not status codes)"}}
	fs := httpFindings(linkerd, "10m", 10*time.Minute, DefaultThresholds)
	if fs[0].Severity != "ok" || !strings.Contains(fs[0].Evidence, "linkerd") {
		t.Errorf("5xx from linkerd: %+v", fs[0])
	}
	if fs[1].Severity != "skipped" || !strings.Contains(fs[1].Evidence, "classifies failures") {
		t.Errorf("4xx from linkerd: %+v", fs[1])
	}
}
