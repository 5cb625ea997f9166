// Package judge decides whether a canary is healthy by comparing its logs and metrics with the
// stable version's. Logs of both sides are mined into ONE template space; each check (one per
// file: new_templates.go, gone_templates.go, rate_change.go, metrics.go, data.go) turns the
// counts or samples into evidence with a severity, and the verdict follows from the evidence
// alone. An optional LLM (internal/llm) sees only compact, redacted evidence and may refine the
// explanation or be more cautious, never overrule hard evidence (see llm.go).
package judge

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/fixloop/fixloop/internal/llm"
	"github.com/fixloop/fixloop/internal/logmine"
	"github.com/fixloop/fixloop/internal/redact"
)

// Verdicts.
const (
	Promote      = "promote"
	Abort        = "abort"
	Inconclusive = "inconclusive"
)

// Evidence severities. Critical and warning evidence abort the canary; insufficient makes the
// run inconclusive; info and ignored are context.
const (
	SeverityCritical     = "critical"
	SeverityWarning      = "warning"
	SeverityInsufficient = "insufficient"
	SeverityInfo         = "info"
	SeverityIgnored      = "ignored"
)

// Evidence kinds.
const (
	KindNewTemplate  = "new_template"
	KindGoneTemplate = "gone_template"
	KindRateChange   = "rate_change"
	KindMetric       = "metric"
	KindData         = "data"
)

// Input is what the judge compares. Logs are records (see ParseLogs); metrics are sample series
// per side, matched by name.
type Input struct {
	Stable, Canary               []logmine.Record
	StableMetrics, CanaryMetrics []Metric
	// StableRequests/CanaryRequests are request counts in the window, the exposure that log
	// counts are normalised by. Zero = unknown: request metrics (see IsTrafficMetric) or, failing
	// those, record counts are used.
	StableRequests, CanaryRequests float64
	Ignore                         []string // regular expressions (case-insensitive)
	ExtraPrompt                    string
	Rollout, Namespace             string
}

// Metric is one metric's samples on one side. Direction says which change is bad: "increase"
// (default), "decrease" or "either". A failing critical metric aborts the canary on its own.
type Metric struct {
	Name      string    `json:"name"`
	Values    []float64 `json:"values"`
	Direction string    `json:"direction,omitempty"`
	Critical  bool      `json:"critical,omitempty"`
	// Tolerance overrides Options.Tolerance for this metric (relative Hodges-Lehmann shift).
	Tolerance *float64 `json:"tolerance,omitempty"`
	// MinEffect is an absolute floor on a shift that counts, in the metric's unit (e.g. 0.02 s of
	// latency): a 1 ms p95 change can be statistically certain and still mean nothing to users.
	MinEffect *float64 `json:"minEffect,omitempty"`
	// Kind "requests" marks a traffic series: used as exposure, not judged.
	Kind string `json:"kind,omitempty"`
}

// Side is one side's figures in a piece of evidence.
type Side struct {
	Count    *int     `json:"count,omitempty"`
	Exposure *float64 `json:"exposure,omitempty"`
	Rate     *float64 `json:"ratePer1000,omitempty"` // events per 1000 exposure units
	Samples  *int     `json:"samples,omitempty"`
	Median   *float64 `json:"median,omitempty"`
	Mean     *float64 `json:"mean,omitempty"`
	P95      *float64 `json:"p95,omitempty"`
	Level    string   `json:"level,omitempty"`
}

// Evidence is one finding.
type Evidence struct {
	Kind      string   `json:"kind"`
	Template  string   `json:"template,omitempty"`
	Metric    string   `json:"metric,omitempty"`
	Stable    *Side    `json:"stable,omitempty"`
	Canary    *Side    `json:"canary,omitempty"`
	Severity  string   `json:"severity"`
	Examples  []string `json:"examples,omitempty"`
	PValue    *float64 `json:"pValue,omitempty"`
	Ratio     *float64 `json:"ratio,omitempty"` // canary/stable rate ratio or metric shift; absent when infinite
	Detail    string   `json:"detail"`
	IgnoredBy string   `json:"ignoredBy,omitempty"`

	severe bool    // canary side has severe records (panic, error level, OOM, trace)
	p      float64 // p-value used for confidence (1 when none)
	class  string  // failure class for explanations: panic, oom, ...
}

// Verdict is the judge's answer; the first eight fields are the stable contract.
type Verdict struct {
	Verdict     string     `json:"verdict"`
	Promote     bool       `json:"promote"`
	Confidence  int        `json:"confidence"`
	Analysis    string     `json:"analysis"`
	RootCause   string     `json:"rootCause"`
	Remediation string     `json:"remediation"`
	Evidence    []Evidence `json:"evidence"`
	Fingerprint string     `json:"fingerprint"`
	Summary     Summary    `json:"summary"`
	LLM         *LLMReport `json:"llm,omitempty"`
}

// Summary gives the volumes the verdict rests on.
type Summary struct {
	StableRecords  int     `json:"stableRecords"`
	CanaryRecords  int     `json:"canaryRecords"`
	ExposureKind   string  `json:"exposureKind"` // requests | records
	StableExposure float64 `json:"stableExposure"`
	CanaryExposure float64 `json:"canaryExposure"`
	Templates      int     `json:"templates"`
	Metrics        int     `json:"metrics"`
}

// Options tune the judge; zero values take the defaults shown.
type Options struct {
	LLM      llm.Provider     // nil = deterministic only
	Redactor *redact.Redactor // nil = redact.Default()
	// MinRecords per side when exposure is counted in records (20).
	MinRecords int
	// MinRequests per side when exposure is counted in requests (50).
	MinRequests float64
	// MinSamples per side for a metric to count as having data (5).
	MinSamples int
	// Alpha is the family-wise error rate for template rate tests after Holm correction (0.01).
	Alpha float64
	// MetricConfidence for the Mann-Whitney test (0.98, as Kayenta).
	MetricConfidence float64
	// Tolerance on the Hodges-Lehmann shift relative to the stable median (0.25, as Kayenta).
	Tolerance float64
	// MinRateRatio is the effect-size gate for template rate changes (2: doubled or halved).
	MinRateRatio float64
	// MinExcess is the minimum number of canary events beyond expectation for an increase (3).
	MinExcess float64
	// MaxExamples per evidence item (3).
	MaxExamples int
	// MaxPromptTokens for the LLM call (4000).
	MaxPromptTokens int
	// LLMTimeout bounds the whole LLM call including retries (90s).
	LLMTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.Redactor == nil {
		o.Redactor = redact.Default()
	}
	if o.MinRecords <= 0 {
		o.MinRecords = 20
	}
	if o.MinRequests <= 0 {
		o.MinRequests = 50
	}
	if o.MinSamples <= 0 {
		o.MinSamples = 5
	}
	if o.Alpha <= 0 || o.Alpha >= 1 {
		o.Alpha = 0.01
	}
	if o.MetricConfidence <= 0 || o.MetricConfidence >= 1 {
		o.MetricConfidence = 0.98
	}
	if o.Tolerance <= 0 {
		o.Tolerance = 0.25
	}
	if o.MinRateRatio <= 1 {
		o.MinRateRatio = 2
	}
	if o.MinExcess <= 0 {
		o.MinExcess = 3
	}
	if o.MaxExamples <= 0 {
		o.MaxExamples = 3
	}
	if o.MaxPromptTokens <= 0 {
		o.MaxPromptTokens = 4000
	}
	if o.LLMTimeout <= 0 {
		o.LLMTimeout = 90 * time.Second
	}
	return o
}

// check is one analysis over the mined comparison (k8sgpt-style analyzer).
type check interface {
	name() string
	run(a *analysis) []Evidence
}

var checks = []check{dataCheck{}, newTemplatesCheck{}, goneTemplatesCheck{}, rateChangeCheck{}, metricsCheck{}}

// Judge compares canary with stable and returns a verdict. It errors only on invalid input
// (a bad ignore pattern); missing data gives an inconclusive verdict, and an LLM failure falls
// back to the deterministic verdict (reported in Verdict.LLM).
func Judge(ctx context.Context, in Input, o Options) (*Verdict, error) {
	o = o.withDefaults()
	ignores, err := compileIgnores(in.Ignore)
	if err != nil {
		return nil, err
	}
	a := newAnalysis(in, o, ignores)
	var ev []Evidence
	for _, c := range checks {
		ev = append(ev, c.run(a)...)
	}
	for i := range ev {
		ev[i] = a.applyIgnore(ev[i])
	}
	sortEvidence(ev)
	v := decide(a, ev)
	if o.LLM != nil {
		consultLLM(ctx, a, v, o)
	}
	return v, nil
}

func compileIgnores(pats []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, p := range pats {
		if strings.TrimSpace(p) == "" {
			continue
		}
		if _, err := regexp.Compile(p); err != nil {
			return nil, fmt.Errorf("ignore pattern %q is not a valid regular expression: %w", p, err)
		}
		re, err := regexp.Compile("(?i)" + p)
		if err != nil {
			return nil, fmt.Errorf("ignore pattern %q: %w", p, err)
		}
		out = append(out, re)
	}
	return out, nil
}

var severityRank = map[string]int{SeverityCritical: 0, SeverityWarning: 1, SeverityInsufficient: 2, SeverityInfo: 3, SeverityIgnored: 4}

// classRank orders failure classes from the most to the least specific.
func classRank(class string) int {
	switch class {
	case "panic", "oom", "crash":
		return 0
	case "java_exception", "python_exception":
		return 1
	case "http_5xx", "error":
		return 2
	}
	return 3
}

// sortEvidence orders by severity, then failure class, then strength (p-value), then a stable key.
func sortEvidence(ev []Evidence) {
	sort.SliceStable(ev, func(i, j int) bool {
		a, b := ev[i], ev[j]
		if severityRank[a.Severity] != severityRank[b.Severity] {
			return severityRank[a.Severity] < severityRank[b.Severity]
		}
		// Among equals, the most specific failure explains the rest: a panic usually is why the
		// same requests also log an error and answer 5xx.
		if classRank(a.class) != classRank(b.class) {
			return classRank(a.class) < classRank(b.class)
		}
		if a.p != b.p {
			return a.p < b.p
		}
		return a.Kind+a.Template+a.Metric < b.Kind+b.Template+b.Metric
	})
}
