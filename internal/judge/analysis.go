package judge

import (
	"math"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"github.com/fixloop/fixloop/internal/logmine"
)

// sideStat is one side's share of a template.
type sideStat struct {
	count    int
	severe   int    // records that logmine.IsSevere
	level    string // most severe level seen on this side
	examples []string
}

// templateStat is a template of the shared space, split by level bucket, with per-side counts.
type templateStat struct {
	id             int
	level          string // "", "warn" or "error" (error, fatal, panic)
	pattern        string
	stable, canary sideStat
}

// analysis is the shared state every check reads.
type analysis struct {
	in      Input
	o       Options
	ignores []*regexp.Regexp

	templates                      []*templateStat // by ID
	exposureKind                   string          // requests | records
	stableExposure, canaryExposure float64
	metrics                        []metricPair
	trafficMetrics                 []string
}

type metricPair struct {
	name           string
	stable, canary *Metric // either may be nil
}

func levelBucket(level string) string {
	switch level {
	case "warn":
		return "warn"
	case "error", "fatal", "panic":
		return "error"
	}
	return ""
}

// maxExampleBytes bounds one example in evidence: a trace's head says what failed.
const maxExampleBytes = 1200

var levelOrder = map[string]int{"trace": 1, "debug": 2, "info": 3, "warn": 4, "error": 5, "fatal": 6, "panic": 7}

func newAnalysis(in Input, o Options, ignores []*regexp.Regexp) *analysis {
	a := &analysis{in: in, o: o, ignores: ignores}
	a.mine()
	a.pairMetrics()
	a.exposure()
	return a
}

// mine puts both sides through ONE miner so a template ID means the same event on both sides.
func (a *analysis) mine() {
	m := logmine.NewMiner(logmine.DefaultConfig())
	type key struct {
		id    int
		level string
	}
	byKey := map[key]*templateStat{}
	add := func(r logmine.Record, canary bool) {
		t := m.Add(r)
		// The same message at a different level is a different event here: a request line
		// logged at warn or error (4xx/5xx) must not hide among the same line at info.
		k := key{t.ID, levelBucket(r.Level)}
		ts := byKey[k]
		if ts == nil {
			ts = &templateStat{id: t.ID, level: k.level}
			byKey[k] = ts
		}
		s := &ts.stable
		if canary {
			s = &ts.canary
		}
		s.count++
		if logmine.IsSevere(r) {
			s.severe++
		}
		if levelOrder[r.Level] > levelOrder[s.level] {
			s.level = r.Level
		}
		if len(s.examples) < a.o.MaxExamples {
			ex := r.Text
			if len(ex) > maxExampleBytes {
				ex = clip(ex, maxExampleBytes)
			}
			if !containsString(s.examples, ex) {
				s.examples = append(s.examples, ex)
			}
		}
	}
	// Ignore patterns mask what they match before mining, so lines that differ only there are one event.
	a.in.Stable, a.in.Canary = a.maskAll(a.in.Stable), a.maskAll(a.in.Canary)
	// A first pass feeds the miner's column statistics so early records group like later ones.
	for _, r := range a.in.Stable {
		m.Observe(r)
	}
	for _, r := range a.in.Canary {
		m.Observe(r)
	}
	for _, r := range a.in.Stable {
		add(r, false)
	}
	for _, r := range a.in.Canary {
		add(r, true)
	}
	for _, ts := range byKey {
		ts.pattern = m.Template(ts.id).Pattern
		if ts.level != "" {
			ts.pattern = "[" + ts.level + "] " + ts.pattern
		}
		a.templates = append(a.templates, ts)
	}
	sort.Slice(a.templates, func(i, j int) bool {
		if a.templates[i].id != a.templates[j].id {
			return a.templates[i].id < a.templates[j].id
		}
		return a.templates[i].level < a.templates[j].level
	})
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// trafficNames are metric names read as request volume (exposure), not judged: the canary's
// share of traffic differs from stable's by design.
var trafficNames = map[string]bool{
	"requests": true, "request_count": true, "requests_total": true, "http_requests_total": true,
	"http_requests": true, "rps": true, "request_rate": true, "throughput": true, "qps": true,
}

// IsTrafficMetric reports whether a metric is read as request volume rather than judged.
func IsTrafficMetric(m Metric) bool {
	return strings.EqualFold(m.Kind, "requests") || trafficNames[strings.ToLower(m.Name)]
}

func (a *analysis) pairMetrics() {
	idx := map[string]int{}
	get := func(name string) *metricPair {
		i, ok := idx[name]
		if !ok {
			i = len(a.metrics)
			idx[name] = i
			a.metrics = append(a.metrics, metricPair{name: name})
		}
		return &a.metrics[i]
	}
	for i := range a.in.StableMetrics {
		m := &a.in.StableMetrics[i]
		get(m.Name).stable = m
	}
	for i := range a.in.CanaryMetrics {
		m := &a.in.CanaryMetrics[i]
		get(m.Name).canary = m
	}
	// Traffic series become exposure.
	kept := a.metrics[:0]
	for _, p := range a.metrics {
		if (p.stable != nil && IsTrafficMetric(*p.stable)) || (p.canary != nil && IsTrafficMetric(*p.canary)) {
			a.trafficMetrics = append(a.trafficMetrics, p.name)
			if a.in.StableRequests == 0 && p.stable != nil {
				a.in.StableRequests = sumFinite(p.stable.Values)
			}
			if a.in.CanaryRequests == 0 && p.canary != nil {
				a.in.CanaryRequests = sumFinite(p.canary.Values)
			}
			continue
		}
		kept = append(kept, p)
	}
	a.metrics = kept
}

func sumFinite(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) && x > 0 {
			s += x
		}
	}
	return s
}

// exposure is the traffic each side saw: request counts when known, else record counts.
func (a *analysis) exposure() {
	if a.in.StableRequests > 0 && a.in.CanaryRequests > 0 {
		a.exposureKind = "requests"
		a.stableExposure, a.canaryExposure = a.in.StableRequests, a.in.CanaryRequests
		return
	}
	a.exposureKind = "records"
	a.stableExposure, a.canaryExposure = float64(len(a.in.Stable)), float64(len(a.in.Canary))
}

func (a *analysis) hasLogs() bool { return len(a.in.Stable)+len(a.in.Canary) > 0 }

// canaryShare is the canary's fraction of the combined exposure.
func (a *analysis) canaryShare() float64 {
	t := a.stableExposure + a.canaryExposure
	if t <= 0 {
		return 0
	}
	return a.canaryExposure / t
}

// ignoredMark replaces the text an ignore pattern matched.
const ignoredMark = "<ignored>"

// maskAll returns the records with every ignore match widened to its whole whitespace-delimited token
// and replaced by ignoredMark: with ignore "color", "color=blue" and "color=green" become the same
// token, while what the pattern did not match (a level, a status code, "panic") still tells lines apart.
func (a *analysis) maskAll(rs []logmine.Record) []logmine.Record {
	if len(a.ignores) == 0 {
		return rs
	}
	out := make([]logmine.Record, len(rs))
	for i, r := range rs {
		for _, re := range a.ignores {
			r.Text = maskTokens(re, r.Text)
		}
		out[i] = r
	}
	return out
}

func maskTokens(re *regexp.Regexp, s string) string {
	locs := re.FindAllStringIndex(s, -1)
	if len(locs) == 0 {
		return s
	}
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	var b strings.Builder
	last := 0
	for _, l := range locs {
		start, end := l[0], l[1]
		if start < last {
			start = last
		}
		for start > last && !isSpace(s[start-1]) {
			start--
		}
		for end < len(s) && !isSpace(s[end]) {
			end++
		}
		if end <= start && end <= last {
			continue // an empty match inside text already masked
		}
		b.WriteString(s[last:start])
		b.WriteString(ignoredMark)
		last = end
	}
	b.WriteString(s[last:])
	return b.String()
}

// onlyIgnored reports whether a template has nothing left but masked text: the operator ignored the
// whole message (e.g. ".*connection reset.*"), so the event itself is intended.
func onlyIgnored(template string) bool {
	if !strings.Contains(template, ignoredMark) {
		return false
	}
	if i := strings.Index(template, "] "); strings.HasPrefix(template, "[") && i > 0 {
		template = template[i+2:] // the "[level] " prefix the judge adds
	}
	rest := strings.NewReplacer(ignoredMark, "", logmine.Wildcard, "").Replace(template)
	return strings.IndexFunc(rest, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) < 0
}

// ignoredBy returns the first ignore pattern matching any of the texts.
func (a *analysis) ignoredBy(texts ...string) string {
	for _, re := range a.ignores {
		for _, t := range texts {
			if t != "" && re.MatchString(t) {
				return re.String()[len("(?i)"):]
			}
		}
	}
	return ""
}

// applyIgnore makes evidence benign (severity "ignored") when an ignore pattern matches a metric's name
// or masked a log template's whole message. A log line that merely mentions the ignored text stays
// evidence: ignoring "color" must not hide a new 5xx line that happens to print the colour.
func (a *analysis) applyIgnore(e Evidence) Evidence {
	if e.Kind == KindData || len(a.ignores) == 0 {
		return e
	}
	switch {
	case e.Metric != "":
		if by := a.ignoredBy(e.Metric); by != "" {
			e.Severity, e.IgnoredBy = SeverityIgnored, by
		}
	case onlyIgnored(e.Template):
		e.Severity, e.IgnoredBy = SeverityIgnored, a.patterns()
	}
	return e
}

func (a *analysis) patterns() string {
	var ps []string
	for _, re := range a.ignores {
		ps = append(ps, re.String()[len("(?i)"):])
	}
	return strings.Join(ps, ", ")
}

// redactAll redacts and bounds examples for output.
func (a *analysis) examples(ss []string) []string {
	var out []string
	for _, s := range ss {
		if len(out) == a.o.MaxExamples {
			break
		}
		out = append(out, a.o.Redactor.String(s))
	}
	return out
}

// templateSide builds the evidence view of one side of a template.
func (a *analysis) templateSide(s sideStat, exposure float64) *Side {
	c := s.count
	side := &Side{Count: &c, Exposure: finite(exposure), Level: s.level}
	if exposure > 0 {
		side.Rate = finite(1000 * float64(s.count) / exposure)
	}
	return side
}

// finite returns a pointer to x rounded to 6 significant digits, or nil when x is not finite
// (JSON has no NaN or Inf).
func finite(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	r := roundSig(x, 6)
	return &r
}

func roundSig(x float64, digits int) float64 {
	if x == 0 {
		return 0
	}
	p := math.Pow(10, float64(digits)-math.Ceil(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}

func intPtr(n int) *int { return &n }

// classify names the failure class of a template from its text, for explanations.
func classify(texts ...string) string {
	t := strings.ToLower(strings.Join(texts, "\n"))
	switch {
	case strings.Contains(t, "outofmemory") || strings.Contains(t, "out of memory") || strings.Contains(t, "oomkill") || strings.Contains(t, "oom-kill") || strings.Contains(t, "memoryerror"):
		return "oom"
	case strings.Contains(t, "panic:") || strings.Contains(t, "panic serving") || strings.Contains(t, "goroutine "):
		return "panic"
	case strings.Contains(t, "traceback (most recent call last)"):
		return "python_exception"
	case strings.Contains(t, "exception in thread") || strings.Contains(t, "\tat ") || strings.Contains(t, "exception:") || strings.Contains(t, "caused by:"):
		return "java_exception"
	case strings.Contains(t, "fatal") || strings.Contains(t, "segmentation fault") || strings.Contains(t, "sigsegv") || strings.Contains(t, "core dumped"):
		return "crash"
	case strings.Contains(t, " 5xx") || strings.Contains(t, "status=5") || strings.Contains(t, "status 5") || strings.Contains(t, " 500 ") || strings.Contains(t, " 503 ") || strings.Contains(t, " 502 "):
		return "http_5xx"
	}
	return "error"
}
