package judge

import "fmt"

// dataCheck reports when there is too little data to judge: too few records or requests on a
// side, no data at all, or most metrics (or a critical one) without enough samples. Its evidence
// has severity "insufficient", which makes the verdict inconclusive unless something aborts.
type dataCheck struct{}

func (dataCheck) name() string { return "data" }

func (dataCheck) run(a *analysis) []Evidence {
	var ev []Evidence
	insufficient := func(detail string, stable, canary *Side) {
		ev = append(ev, Evidence{Kind: KindData, Severity: SeverityInsufficient, Detail: detail, Stable: stable, Canary: canary, p: 1})
	}
	if !a.hasLogs() && len(a.metrics) == 0 {
		insufficient("no logs and no metrics on either side", nil, nil)
		return ev
	}
	if !a.hasLogs() && a.in.StableRequests == 0 && a.in.CanaryRequests == 0 && onlyPodLevel(a.metrics) {
		// A revision that logs nothing and serves nothing would otherwise pass on restart counts.
		insufficient("no log records, no requests and only pod-level metrics (restarts, CPU, memory): nothing shows the canary serves", nil, nil)
	}
	if a.hasLogs() {
		sideOf := func(records int, requests float64) *Side {
			s := &Side{Count: intPtr(records)}
			if a.exposureKind == "requests" {
				s.Exposure = finite(requests)
			}
			return s
		}
		st, ca := sideOf(len(a.in.Stable), a.stableExposure), sideOf(len(a.in.Canary), a.canaryExposure)
		if a.exposureKind == "requests" {
			if a.stableExposure < a.o.MinRequests || a.canaryExposure < a.o.MinRequests {
				insufficient(fmt.Sprintf("too little traffic: stable %.0f and canary %.0f requests, at least %.0f per side needed",
					a.stableExposure, a.canaryExposure, a.o.MinRequests), st, ca)
			}
		} else if len(a.in.Stable) < a.o.MinRecords || len(a.in.Canary) < a.o.MinRecords {
			insufficient(fmt.Sprintf("too few log records: stable %d and canary %d, at least %d per side needed",
				len(a.in.Stable), len(a.in.Canary), a.o.MinRecords), st, ca)
		}
	}
	if len(a.metrics) > 0 {
		missing := 0
		for _, p := range a.metrics {
			ns, nc := len(finiteValues(p.stable)), len(finiteValues(p.canary))
			if ns >= a.o.MinSamples && nc >= a.o.MinSamples {
				continue
			}
			missing++
			if (p.stable != nil && p.stable.Critical) || (p.canary != nil && p.canary.Critical) {
				insufficient(fmt.Sprintf("critical metric %s has too few samples: stable %d, canary %d (at least %d needed)",
					p.name, ns, nc, a.o.MinSamples), &Side{Samples: intPtr(ns)}, &Side{Samples: intPtr(nc)})
			}
		}
		if 2*missing >= len(a.metrics) {
			insufficient(fmt.Sprintf("%d of %d metrics have too few samples (at least %d per side needed)",
				missing, len(a.metrics), a.o.MinSamples), nil, nil)
		}
	}
	return ev
}

func onlyPodLevel(metrics []metricPair) bool {
	for _, p := range metrics {
		if (p.stable != nil && p.stable.Kind != "pod") || (p.canary != nil && p.canary.Kind != "pod") {
			return false
		}
	}
	return true
}
