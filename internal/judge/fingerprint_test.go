package judge

import (
	"fmt"
	"testing"
)

func panicLog(addr string, goroutine int, extraReqs int) []string {
	p := fmt.Sprintf("http: panic serving %s: runtime error: index out of range [%d] with length 0\ngoroutine %d [running]:\nmain.handler(0xc000%x)\n\t/app/main.go:42 +0x%x",
		addr, goroutine%3, goroutine, goroutine*31, goroutine)
	return append(reqLines(extraReqs, "INFO", "blue"), p, p)
}

func TestFingerprint(t *testing.T) {
	stable := recs(reqLines(400, "INFO", "blue"))
	run := func(canary []string, ns, rollout string) string {
		v := mustJudge(t, Input{Stable: stable, Canary: recs(canary), Namespace: ns, Rollout: rollout}, Options{})
		if v.Verdict != Abort {
			t.Fatalf("verdict %s", v.Verdict)
		}
		return v.Fingerprint
	}
	a := run(panicLog("10.0.0.1:4000", 17, 100), "", "")
	b := run(panicLog("10.9.9.9:5123", 933, 150), "", "")
	if a != b {
		t.Errorf("same panic with different addresses/IDs: %s vs %s", a, b)
	}
	other := append(reqLines(100, "INFO", "blue"), repeatLine(3, "level=ERROR msg=\"payment declined\" id=%d")...)
	if c := run(other, "", ""); c == a {
		t.Error("different failure, same fingerprint")
	}
	if d := run(panicLog("10.0.0.1:4000", 17, 100), "shop", "web"); d == a {
		t.Error("rollout identity not part of the fingerprint")
	}
	// Order and duplicates do not matter; info and ignored evidence do not count.
	e1 := []Evidence{{Kind: KindNewTemplate, Template: "x <*> 12", Severity: SeverityCritical}, {Kind: KindMetric, Metric: "Latency", Severity: SeverityWarning}}
	e2 := []Evidence{{Kind: KindMetric, Metric: "latency", Severity: SeverityCritical}, {Kind: KindNewTemplate, Template: "x <*> 99", Severity: SeverityCritical},
		{Kind: KindNewTemplate, Template: "info", Severity: SeverityInfo}, {Kind: KindNewTemplate, Template: "ign", Severity: SeverityIgnored}}
	if Fingerprint("", "", e1) != Fingerprint("", "", e2) {
		t.Error("fingerprint depends on order, numbers or non-blocking evidence")
	}
}
