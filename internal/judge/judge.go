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
	"sort"
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
	// KindChangedTemplate: a template gone from the canary replaced by a same-shaped one (a value
	// such as a colour or version changed); informational.
	KindChangedTemplate = "changed_template"
	// KindFailedRequests: the share of requests answered with a 5xx (or 4xx) status, from access
	// lines, compared between sides.
	KindFailedRequests = "failed_requests"
	// KindLogLatency: request durations carried by log lines, compared between sides.
	KindLogLatency = "log_latency"
	// KindIgnored: what an ignore pattern dropped (never a finding).
	KindIgnored = "ignored"
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
	// Ignore drops the log records whose message matches (like grep -v); Mask replaces the
	// matched text with MaskPlaceholder so a value does not split templates. Regular expressions,
	// case-insensitive; neither touches metrics. See CheckPatterns for what is refused.
	Ignore             []string
	Mask               []string
	ExtraPrompt        string
	Rollout, Namespace string
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
	// Kind "requests" marks a traffic series: used as exposure, not judged. Kind "pod" marks a series
	// every pod has whether it serves or not (restarts, CPU, memory): judged, but alone it cannot show
	// that the canary works.
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
	Verdict     string     `json:"verdict" jsonschema:"promote, abort or inconclusive"`
	Promote     bool       `json:"promote"`
	Confidence  int        `json:"confidence" jsonschema:"0-100"`
	Analysis    string     `json:"analysis"`
	RootCause   string     `json:"rootCause"`
	Remediation string     `json:"remediation"`
	Evidence    []Evidence `json:"evidence" jsonschema:"findings, most severe first; examples redacted"`
	Fingerprint string     `json:"fingerprint" jsonschema:"stable across runs for the same failure (for issue deduplication); empty on promote"`
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
	// Records reporting an HTTP status per side (access lines); RequestStatusCompared when both sides
	// had enough of them for the failed-request share to be compared like an error-rate metric.
	StableStatusRecords   int  `json:"stableStatusRecords,omitempty"`
	CanaryStatusRecords   int  `json:"canaryStatusRecords,omitempty"`
	RequestStatusCompared bool `json:"requestStatusCompared,omitempty"`
	// Older log lines left out per side to keep the newest within the byte budget (set by the collector).
	StableLinesDropped int `json:"stableLinesDropped,omitempty"`
	CanaryLinesDropped int `json:"canaryLinesDropped,omitempty"`
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
	// Budget bounds the deterministic analysis (60s): past it the verdict is inconclusive with
	// the reason, never a hang. A context deadline that comes sooner wins.
	Budget time.Duration
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
	if o.Budget <= 0 {
		o.Budget = 60 * time.Second
	}
	return o
}

// check is one analysis over the mined comparison (k8sgpt-style analyzer).
type check interface {
	name() string
	run(a *analysis) []Evidence
}

var checks = []check{dataCheck{}, newTemplatesCheck{}, goneTemplatesCheck{}, changedTemplatesCheck{},
	rateChangeCheck{}, failedRequestsCheck{}, logLatencyCheck{}, metricsCheck{}}

// Judge compares canary with stable and returns a verdict. It errors only on invalid input
// (a bad or too broad ignore/mask pattern); missing data, and an analysis that outruns its time
// budget, give an inconclusive verdict; an LLM failure falls back to the deterministic verdict
// (reported in Verdict.LLM).
func Judge(ctx context.Context, in Input, o Options) (*Verdict, error) {
	o = o.withDefaults()
	ignores, err := compilePatterns("ignore", in.Ignore)
	if err != nil {
		return nil, err
	}
	masks, err := compilePatterns("mask", in.Mask)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(o.Budget)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	a := newAnalysis(in, o, ignores, masks, deadline)
	ev := a.ignoreEvidence()
	for _, c := range checks {
		if a.stopped == "" && time.Now().After(deadline) {
			a.stopped = fmt.Sprintf("the analysis stopped at its time budget of %s before the %s check; judge a shorter window or fewer pods", o.Budget, c.name())
		}
		if a.stopped != "" {
			break
		}
		ev = append(ev, c.run(a)...)
	}
	if a.stopped != "" {
		// Half an analysis is no verdict: what was found so far may not be the whole story.
		ev = append(a.ignoreEvidence(), Evidence{Kind: KindData, Severity: SeverityInsufficient, Detail: a.stopped, p: 1})
	}
	sortEvidence(ev)
	v := decide(a, ev)
	if o.LLM != nil {
		consultLLM(ctx, a, v, o)
	}
	return v, nil
}

var severityRank = map[string]int{SeverityCritical: 0, SeverityWarning: 1, SeverityInsufficient: 2, SeverityInfo: 3, SeverityIgnored: 4}

// classRank orders failure classes from the most to the least specific.
func classRank(class string) int {
	switch class {
	case "panic", "oom", "crash":
		return 0
	case "java_exception", "python_exception", "exception":
		return 1
	case "error":
		return 2
	case "http_5xx": // the symptom: a logged error, when there is one, says why
		return 3
	}
	return 4
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
