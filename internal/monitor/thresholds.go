package monitor

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Annotations a workload may carry.
const (
	// AnnotationMonitor opts a workload in ("true") or out ("false") of the monitor.
	AnnotationMonitor = "fixloop.dev/monitor"
	// AnnotationThresholds overrides thresholds, e.g. "cpu=80/95,5xx=2/10,p95=500ms/2s,min-requests=100".
	AnnotationThresholds = "fixloop.dev/thresholds"
)

// Thresholds per check: warning / critical levels.
type Thresholds struct {
	CPUWarn     float64 `json:"cpuWarn"` // % of limit
	CPUCrit     float64 `json:"cpuCrit"`
	MemWarn     float64 `json:"memWarn"` // % of limit
	MemCrit     float64 `json:"memCrit"`
	Err5xxWarn  float64 `json:"err5xxWarn"` // % of requests
	Err5xxCrit  float64 `json:"err5xxCrit"`
	Err4xxWarn  float64 `json:"err4xxWarn"`
	Err4xxCrit  float64 `json:"err4xxCrit"`
	P95WarnMS   float64 `json:"p95WarnMs"`
	P95CritMS   float64 `json:"p95CritMs"`
	MinRequests float64 `json:"minRequests"` // HTTP checks are skipped below this many requests per window
}

// DefaultThresholds are the documented defaults.
var DefaultThresholds = Thresholds{CPUWarn: 70, CPUCrit: 90, MemWarn: 70, MemCrit: 90, Err5xxWarn: 1, Err5xxCrit: 5,
	Err4xxWarn: 10, Err4xxCrit: 25, P95WarnMS: 1000, P95CritMS: 3000, MinRequests: 20}

// ParseThresholds applies an AnnotationThresholds value over base. Every entry is checked; a bad entry is
// an error naming it and the whole value is rejected (half-applied thresholds would surprise).
func ParseThresholds(base Thresholds, s string) (Thresholds, error) {
	out := base
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, val, ok := strings.Cut(item, "=")
		if !ok {
			return base, fmt.Errorf("%s: %q is not name=warn/critical", AnnotationThresholds, item)
		}
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if name == "min-requests" {
			n, err := strconv.ParseFloat(val, 64)
			if err != nil || n < 0 {
				return base, fmt.Errorf("%s: min-requests=%q: want a non-negative number", AnnotationThresholds, val)
			}
			out.MinRequests = n
			continue
		}
		warn, crit, err := parsePair(name, val)
		if err != nil {
			return base, fmt.Errorf("%s: %w", AnnotationThresholds, err)
		}
		switch name {
		case "cpu":
			out.CPUWarn, out.CPUCrit = warn, crit
		case "memory":
			out.MemWarn, out.MemCrit = warn, crit
		case "5xx":
			out.Err5xxWarn, out.Err5xxCrit = warn, crit
		case "4xx":
			out.Err4xxWarn, out.Err4xxCrit = warn, crit
		case "p95":
			out.P95WarnMS, out.P95CritMS = warn, crit
		default:
			return base, fmt.Errorf("%s: unknown check %q (known: cpu, memory, 5xx, 4xx, p95, min-requests)", AnnotationThresholds, name)
		}
	}
	return out, nil
}

// parsePair reads "warn/critical": percentages for most checks, durations (or milliseconds) for p95.
func parsePair(name, val string) (float64, float64, error) {
	w, c, ok := strings.Cut(val, "/")
	if !ok {
		return 0, 0, fmt.Errorf("%s=%q: want warn/critical, e.g. %s=70/90", name, val, name)
	}
	parse := func(s string) (float64, error) {
		s = strings.TrimSpace(s)
		if name == "p95" {
			if d, err := time.ParseDuration(s); err == nil {
				return float64(d) / float64(time.Millisecond), nil
			}
		}
		return strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	}
	warn, err1 := parse(w)
	crit, err2 := parse(c)
	if err1 != nil || err2 != nil || warn < 0 || crit < warn {
		return 0, 0, fmt.Errorf("%s=%q: want two non-negative numbers, warn <= critical", name, val)
	}
	return warn, crit, nil
}
