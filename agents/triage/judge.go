package triage

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/fixloop/fixloop/internal/judge"
)

// JudgeFunc decides on collected evidence. The default runs internal/judge.
type JudgeFunc func(ctx context.Context, ev *CanaryEvidence) (*Verdict, error)

// JudgeOptions are passed to internal/judge by the default JudgeFunc (set by WithJudgeOptions).
var defaultJudgeOptions judge.Options

func defaultJudge(cfg Config) JudgeFunc {
	window, err := time.ParseDuration(cfg.MetricWindow)
	if err != nil {
		window = 10 * time.Minute
	}
	return func(ctx context.Context, ev *CanaryEvidence) (*Verdict, error) {
		opts := defaultJudgeOptions
		if opts.Redactor == nil {
			opts.Redactor = cfg.Tools.Redactor
		}
		if opts.LLM == nil {
			opts.LLM = cfg.Tools.LLM // nil: deterministic only
		}
		in := judge.Input{Stable: ev.StableLogs, Canary: ev.CanaryLogs, Ignore: ev.Ignore, Mask: ev.Mask, ExtraPrompt: ev.ExtraPrompt,
			Rollout: ev.Rollout, Namespace: ev.Namespace}
		in.StableMetrics, in.StableRequests = judgeMetrics(ev.StableMetrics, window)
		in.CanaryMetrics, in.CanaryRequests = judgeMetrics(ev.CanaryMetrics, window)
		v, err := judge.Judge(ctx, in, opts)
		if err != nil {
			return nil, err
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode verdict: %w", err)
		}
		var out Verdict
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, fmt.Errorf("decode verdict: %w", err)
		}
		return &out, nil
	}
}

// judgeMetrics converts samples; request_rate becomes the exposure (requests in the window) instead of
// a judged metric, because the canary's traffic share differs from stable's by design.
func judgeMetrics(ms []MetricSamples, window time.Duration) ([]judge.Metric, float64) {
	var out []judge.Metric
	var requests float64
	for _, m := range ms {
		if m.Name == "request_rate" {
			var sum float64
			for _, v := range m.Values {
				sum += v
			}
			if n := len(m.Values); n > 0 {
				// Points are evenly spaced rates (req/s) over the window, per pod: rate × spacing ≈ requests.
				requests = sum * window.Seconds() / float64(maxInt(1, n/maxInt(1, podsIn(m))))
			}
			continue
		}
		out = append(out, judge.Metric{Name: m.Name, Values: m.Values, Direction: m.Direction, Critical: m.Critical, MinEffect: &m.MinEffect})
	}
	return out, requests
}

func podsIn(m MetricSamples) int { return m.pods }

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
