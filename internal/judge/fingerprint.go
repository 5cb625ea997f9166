package judge

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"sort"
	"strings"
)

// Fingerprint identifies a failure across runs so issues can be deduplicated: a hash of the
// normalised patterns of the blocking evidence (severe canary templates, failing metric names
// with their kind) plus the rollout identity when given. Numbers, hex, and placeholder tokens are
// normalised away, so the same failure with different IDs, ports or counts hashes the same.
// Informational and ignored evidence do not count. With no blocking evidence (an inconclusive
// run) it hashes the kind of missing data.
func Fingerprint(namespace, rollout string, ev []Evidence) string {
	var keys []string
	for _, e := range ev {
		if e.Severity != SeverityCritical && e.Severity != SeverityWarning {
			continue
		}
		switch e.Kind {
		case KindMetric:
			keys = append(keys, "metric:"+strings.ToLower(e.Metric))
		default:
			keys = append(keys, e.Kind+":"+normalisePattern(e.Template))
		}
	}
	if len(keys) == 0 {
		for _, e := range ev {
			if e.Severity == SeverityInsufficient {
				keys = append(keys, "data:"+normalisePattern(e.Detail))
			}
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
