package tools

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/fixloop/fixloop/internal/telemetry"
)

// observeAnalysis opens the analysis span (the parent of its Kubernetes, Prometheus and LLM calls) and
// returns the function that records the outcome in the span and in the verdict and duration series.
func observeAnalysis(ctx context.Context, in CompareCanaryInput) (context.Context, func(*CompareCanaryOutput, error)) {
	start := time.Now()
	telemetry.AnalysesInFlight.Inc()
	ctx, span := telemetry.Start(ctx, "compare_canary",
		attribute.String("k8s.namespace.name", in.Namespace), attribute.String("fixloop.rollout", in.Rollout))
	return ctx, func(out *CompareCanaryOutput, err error) {
		telemetry.AnalysesInFlight.Dec()
		outcome := "error"
		if err == nil && out != nil {
			outcome = out.Verdict
			span.SetAttributes(attribute.String("fixloop.verdict", out.Verdict), attribute.Int("fixloop.confidence", out.Confidence),
				attribute.String("fixloop.fingerprint", out.Fingerprint))
		}
		telemetry.Verdicts.WithLabelValues(outcome).Inc()
		telemetry.AnalysisDuration.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
		telemetry.End(span, err)
	}
}
