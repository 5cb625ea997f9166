package triage

import (
	"encoding/json"

	"github.com/fixloop/fixloop/internal/judge"
)

// issueFingerprint keys the GitHub issue on the failure's signature rather than on every finding: the
// judge fingerprints all blocking evidence, so a metric that only gathers enough samples on the second
// analysis (or a rate change hovering at the threshold) would open a second issue for the same failure.
// Preference: critical new log templates, else critical log evidence, else critical metrics, else the
// judge's own fingerprint.
func issueFingerprint(v Verdict, namespace, rollout string) string {
	var all []judge.Evidence
	for _, e := range v.Evidence {
		raw, err := json.Marshal(e)
		if err != nil {
			continue
		}
		var je judge.Evidence
		if json.Unmarshal(raw, &je) == nil {
			all = append(all, je)
		}
	}
	pick := func(keep func(judge.Evidence) bool) []judge.Evidence {
		var out []judge.Evidence
		for _, e := range all {
			if e.Severity == judge.SeverityCritical && keep(e) {
				out = append(out, e)
			}
		}
		return out
	}
	for _, keep := range []func(judge.Evidence) bool{
		func(e judge.Evidence) bool { return e.Kind == judge.KindNewTemplate },
		func(e judge.Evidence) bool { return e.Kind != judge.KindMetric && e.Kind != judge.KindData },
		func(e judge.Evidence) bool { return e.Kind == judge.KindMetric },
	} {
		if sel := pick(keep); len(sel) > 0 {
			return judge.Fingerprint(namespace, rollout, sel)
		}
	}
	return v.Fingerprint
}
