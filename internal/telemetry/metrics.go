package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"
)

// The series of fixloop's /metrics that code below cmd updates. They are process-wide (a process is
// one fixloop); Register adds them to the serve command's registry.
var (
	Verdicts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fixloop_verdicts_total",
		Help: "Canary verdicts by outcome (promote, abort, inconclusive, error)."}, []string{"outcome"})
	AnalysisDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "fixloop_analysis_duration_seconds",
		Help:    "Duration of one canary analysis (logs, metrics and the judge) by outcome.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}}, []string{"outcome"})
	AnalysesInFlight = prometheus.NewGauge(prometheus.GaugeOpts{Name: "fixloop_analyses_in_flight",
		Help: "Canary analyses running now."})
	LLMTokens = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fixloop_llm_tokens_total",
		Help: "LLM tokens by model and kind (input, output) as the provider reported them."}, []string{"model", "kind"})
	LLMCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fixloop_llm_calls_total",
		Help: "LLM calls by model and result (ok, error)."}, []string{"model", "result"})
	IssuesOpened = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fixloop_issues_total",
		Help: "GitHub issues by action: opened (a new failure), reopened, commented (a new occurrence)."}, []string{"action"})
	PullRequestsOpened = prometheus.NewCounter(prometheus.CounterOpts{Name: "fixloop_pull_requests_opened_total",
		Help: "Pull requests opened by the fixer."})
	FixesRunning = prometheus.NewGauge(prometheus.GaugeOpts{Name: "fixloop_fixes_running",
		Help: "Fixer sessions holding a slot now."})
	FixesWaiting = prometheus.NewGauge(prometheus.GaugeOpts{Name: "fixloop_fixes_waiting",
		Help: "Fix requests queued for a free fixer slot (the fixer's task queue depth)."})
)

// Register adds the series above to reg.
func Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{Verdicts, AnalysisDuration, AnalysesInFlight, LLMTokens, LLMCalls,
		IssuesOpened, PullRequestsOpened, FixesRunning, FixesWaiting} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
