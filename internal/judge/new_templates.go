package judge

import (
	"fmt"

	"github.com/fixloop/fixloop/internal/judge/stats"
)

// newTemplatesCheck finds templates that occur in canary and never in stable. A new severe
// template (error level, panic, fatal, OOM, stack trace) is critical however rare: the canary
// introduced a failure. Access lines answered 5xx without an error word are critical when they are
// significant and at least MinExcess. A new warn-level template is a warning when it is significantly more
// frequent than chance; other new templates (a new info line) are information.
type newTemplatesCheck struct{}

func (newTemplatesCheck) name() string { return "new_templates" }

func (newTemplatesCheck) run(a *analysis) []Evidence {
	var ev []Evidence
	for _, t := range a.templates {
		if t.stable.count > 0 || t.canary.count == 0 || t.changed != nil {
			continue
		}
		// The chance that all these events land in canary if rates were equal (p0^count).
		p, _ := stats.RateRatioTest(0, t.canary.count, a.stableExposure, a.canaryExposure, stats.Greater)
		e := Evidence{
			Kind:     KindNewTemplate,
			Template: a.o.Redactor.String(t.pattern),
			Stable:   a.templateSide(t.stable, a.stableExposure),
			Canary:   a.templateSide(t.canary, a.canaryExposure),
			Examples: a.examples(t.canary.examples),
			PValue:   finite(p),
			severe:   t.canary.severe > 0,
			p:        p,
		}
		switch {
		case e.severe:
			e.Severity = SeverityCritical
			e.class = classify(append([]string{t.pattern}, t.canary.examples...)...)
			e.Detail = fmt.Sprintf("new severe %s event in canary: %d occurrence(s), none in stable", className(e.class), t.canary.count)
		case t.canary.failed > 0 && p < a.o.Alpha && float64(t.canary.failed) >= a.o.MinExcess:
			// Requests answered 5xx without an error word: significant and not a stray one.
			e.Severity, e.severe, e.class = SeverityCritical, true, "http_5xx"
			e.Detail = fmt.Sprintf("new failing requests in canary: %d answered with HTTP 5xx, none in stable (p=%.2g)", t.canary.failed, p)
		case t.canary.failed > 0:
			e.Severity = SeverityInfo
			e.Detail = fmt.Sprintf("%d request(s) answered with HTTP 5xx in canary, none in stable: too few to tell from chance (p=%.2g)", t.canary.failed, p)
		case t.canary.level == "warn" && p < a.o.Alpha && float64(t.canary.count) >= a.o.MinExcess:
			e.Severity = SeverityWarning
			e.Detail = fmt.Sprintf("new warning in canary: %d occurrence(s), none in stable (p=%.2g)", t.canary.count, p)
		default:
			e.Severity = SeverityInfo
			e.Detail = fmt.Sprintf("new %s line in canary: %d occurrence(s), none in stable", levelOr(t.canary.level, "log"), t.canary.count)
		}
		ev = append(ev, e)
	}
	return ev
}

func levelOr(level, def string) string {
	if level == "" {
		return def
	}
	return level
}

func className(class string) string {
	switch class {
	case "oom":
		return "out-of-memory"
	case "panic":
		return "panic"
	case "python_exception":
		return "Python exception"
	case "exception":
		return "exception (stack trace)"
	case "java_exception":
		return "Java exception"
	case "crash":
		return "fatal/crash"
	case "http_5xx":
		return "HTTP 5xx"
	}
	return "error"
}
