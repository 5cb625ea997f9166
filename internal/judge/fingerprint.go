package judge

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"sort"
	"strings"
)

// Fingerprint identifies a failure across runs so issues can be deduplicated. It is the ONE fingerprint
// of fixloop (compare_canary, the triage agent and the Argo routes all file under it): a hash of the
// failure's signature plus the rollout identity when given. The signature is the first non-empty of
// critical new log templates, other critical log evidence, critical metrics, warnings, and (for an
// inconclusive run) the kind of missing data: a metric that only gathers enough samples on the second
// analysis, or a rate change hovering at its threshold, must not open a second issue for the same
// failure. Numbers, hex and placeholder tokens are normalised away, so the same failure with
// different IDs, ports or counts hashes the same.
func Fingerprint(namespace, rollout string, ev []Evidence) string {
	var keys []string
	for _, e := range failureSignature(ev) {
		switch e.Kind {
		case KindMetric:
			keys = append(keys, "metric:"+strings.ToLower(e.Metric))
		case KindData:
			keys = append(keys, "data:"+normalisePattern(e.Detail))
		default:
			keys = append(keys, e.Kind+":"+normalisePattern(e.Template))
		}
	}
	sort.Strings(keys)
	keys = dedupe(keys)
	h := sha256.New()
	if namespace != "" || rollout != "" {
		h.Write([]byte("rollout:" + namespace + "/" + rollout + "\n"))
	}
	for _, k := range keys {
		h.Write([]byte(k + "\n"))
	}
	return "fp-" + hex.EncodeToString(h.Sum(nil))[:16]
}

// failureSignature picks the evidence that names the failure, most specific first.
func failureSignature(ev []Evidence) []Evidence {
	critical := func(e Evidence) bool { return e.Severity == SeverityCritical }
	logs := func(e Evidence) bool { return e.Kind != KindMetric && e.Kind != KindData }
	for _, keep := range []func(Evidence) bool{
		func(e Evidence) bool { return critical(e) && e.Kind == KindNewTemplate },
		func(e Evidence) bool { return critical(e) && logs(e) },
		func(e Evidence) bool { return critical(e) && e.Kind == KindMetric },
		func(e Evidence) bool { return e.Severity == SeverityCritical || e.Severity == SeverityWarning },
		func(e Evidence) bool { return e.Severity == SeverityInsufficient },
	} {
		var sel []Evidence
		for _, e := range ev {
			if keep(e) {
				sel = append(sel, e)
			}
		}
		if len(sel) > 0 {
			return sel
		}
	}
	return nil
}

var (
	rePlaceholder = regexp.MustCompile(`<[^<>\s]{0,20}>|\[REDACTED:[a-z_]+\]`)
	reHexish      = regexp.MustCompile(`\b(?:0x)?[0-9a-fA-F]*[0-9][0-9a-fA-F]*\b`)
	reSpaces      = regexp.MustCompile(`\s+`)
)

func normalisePattern(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	s = rePlaceholder.ReplaceAllString(s, "#")
	s = reHexish.ReplaceAllString(s, "#")
	s = reSpaces.ReplaceAllString(strings.ToLower(strings.TrimSpace(s)), " ")
	return s
}

func dedupe(ss []string) []string {
	out := ss[:0]
	for i, s := range ss {
		if i == 0 || s != ss[i-1] {
			out = append(out, s)
		}
	}
	return out
}
