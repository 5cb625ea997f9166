package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/utils/evaluate"
	"github.com/argoproj/argo-rollouts/utils/plugin/types"
	"github.com/sirupsen/logrus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fixloop/fixloop/internal/argorun"
)

// Metadata keys of a measurement.
const (
	metaID          = "fixloop.id"
	metaVerdictURL  = "fixloop.verdictUrl"
	metaVerdict     = "fixloop.verdict"
	metaConfidence  = "fixloop.confidence"
	metaSummary     = "fixloop.summary"
	metaRootCause   = "fixloop.rootCause"
	metaFingerprint = "fixloop.fingerprint"
	metaIssueURL    = "fixloop.issueUrl"
	metaPRLink      = "fixloop.prLink"
	metaCanary      = "fixloop.canary"
	metaReport      = "fixloop.report" // the verdict's page (/reports/{id})
)

const podTemplateHashLabel = "rollouts-pod-template-hash"

// provider implements Argo's metric provider RPC interface. Every call returns quickly: the analysis
// runs on fixloop, Run starts it and Resume polls, so the controller is never blocked by a slow verdict.
type provider struct {
	log *logrus.Entry
	now func() time.Time
}

func (p *provider) InitPlugin() types.RpcError { return types.RpcError{} }

func (p *provider) Type() string { return "fixloop" }

func (p *provider) GetMetadata(metric v1alpha1.Metric) map[string]string {
	cfg, err := parseConfig(metric)
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	return map[string]string{"fixloop.url": cfg.URL}
}

// Run starts the analysis of the AnalysisRun's canary revision and returns a Running measurement.
func (p *provider) Run(run *v1alpha1.AnalysisRun, metric v1alpha1.Metric) v1alpha1.Measurement {
	m := v1alpha1.Measurement{StartedAt: p.metaNow(), Metadata: map[string]string{}}
	cfg, c, err := p.setup(metric)
	if err != nil {
		return p.errored(m, err)
	}
	req, err := analysisRequest(run, metric, cfg)
	if err != nil {
		return p.errored(m, err)
	}
	m.Metadata[metaID], m.Metadata[metaVerdictURL] = req.ID, c.statusURL(req.ID)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.RequestTimeoutSeconds)*time.Second)
	defer cancel()
	st, err := c.start(ctx, req)
	if err != nil {
		return p.errored(m, err)
	}
	return p.update(m, run, metric, cfg, st)
}

// Resume polls the analysis; a fixloop that forgot it (restart) is asked to start it again.
func (p *provider) Resume(run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, m v1alpha1.Measurement) v1alpha1.Measurement {
	cfg, c, err := p.setup(metric)
	if err != nil {
		return p.errored(m, err)
	}
	id := m.Metadata[metaID]
	if id == "" {
		return p.errored(m, fmt.Errorf("measurement carries no %s: it was not started by this plugin", metaID))
	}
	if m.StartedAt != nil && p.now().Sub(m.StartedAt.Time) > time.Duration(cfg.TimeoutSeconds)*time.Second {
		p.cancelQuietly(c, id)
		return p.errored(m, fmt.Errorf("fixloop gave no verdict within timeoutSeconds=%d (see %s)", cfg.TimeoutSeconds, c.statusURL(id)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.RequestTimeoutSeconds)*time.Second)
	defer cancel()
	st, err := c.get(ctx, id)
	if errors.Is(err, errNotFound) {
		p.log.WithField("id", id).Info("fixloop does not know the analysis any more; starting it again")
		var req argorun.Request
		if req, err = analysisRequest(run, metric, cfg); err == nil {
			req.ID = id
			st, err = c.start(ctx, req)
		}
	}
	if err != nil {
		return p.errored(m, err)
	}
	return p.update(m, run, metric, cfg, st)
}

// Terminate cancels the analysis. The measurement ends Inconclusive: without a verdict it must not
// count as a pass.
func (p *provider) Terminate(_ *v1alpha1.AnalysisRun, metric v1alpha1.Metric, m v1alpha1.Measurement) v1alpha1.Measurement {
	if cfg, c, err := p.setup(metric); err == nil && m.Metadata[metaID] != "" {
		_ = cfg
		p.cancelQuietly(c, m.Metadata[metaID])
	}
	m.Phase, m.FinishedAt, m.Message = v1alpha1.AnalysisPhaseInconclusive, p.metaNow(), "terminated before fixloop gave a verdict"
	return m
}

// GarbageCollect tells fixloop to forget the analyses of measurements Argo no longer keeps.
func (p *provider) GarbageCollect(run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, limit int) types.RpcError {
	_, c, err := p.setup(metric)
	if err != nil || run == nil {
		return types.RpcError{}
	}
	for _, mr := range run.Status.MetricResults {
		if mr.Name != metric.Name || len(mr.Measurements) <= limit {
			continue
		}
		for _, m := range mr.Measurements[:len(mr.Measurements)-limit] {
			if id := m.Metadata[metaID]; id != "" && m.FinishedAt != nil {
				p.cancelQuietly(c, id)
			}
		}
	}
	return types.RpcError{}
}

func (p *provider) setup(metric v1alpha1.Metric) (*Config, *client, error) {
	cfg, err := parseConfig(metric)
	if err != nil {
		return nil, nil, err
	}
	c, err := newClient(cfg)
	return cfg, c, err
}

func (p *provider) cancelQuietly(c *client, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.cancel(ctx, id); err != nil {
		p.log.WithField("id", id).WithError(err).Warn("could not cancel the analysis on fixloop")
	}
}

// update turns fixloop's status into the measurement: still Running (poll again after pollSeconds),
// Error, or a verdict phase.
func (p *provider) update(m v1alpha1.Measurement, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, cfg *Config, st *argorun.Status) v1alpha1.Measurement {
	switch st.State {
	case argorun.StateRunning:
		m.Phase = v1alpha1.AnalysisPhaseRunning
		resume := metav1.NewTime(p.now().Add(time.Duration(cfg.PollSeconds) * time.Second))
		m.ResumeAt = &resume
		return m
	case argorun.StateDone:
		if st.Result == nil {
			return p.errored(m, fmt.Errorf("fixloop finished analysis %s without a result", st.ID))
		}
		return p.finish(m, metric, st.Result)
	default:
		return p.errored(m, fmt.Errorf("fixloop analysis %s %s: %s", st.ID, st.State, st.Error))
	}
}

// finish records the verdict. Inconclusive stays Inconclusive whatever the conditions say (the rollout
// pauses for a human); a verdict without canary pods never passes.
func (p *provider) finish(m v1alpha1.Measurement, metric v1alpha1.Metric, r *argorun.Result) v1alpha1.Measurement {
	m.FinishedAt, m.ResumeAt = p.metaNow(), nil
	for k, v := range resultMetadata(r) {
		m.Metadata[k] = v
	}
	value, _ := json.Marshal(map[string]any{"verdict": r.Verdict, "promote": r.Promote, "confidence": r.Confidence})
	m.Value, m.Message = string(value), firstSentence(r.Analysis)
	switch {
	case r.Verdict == "" || r.Verdict == "inconclusive":
		m.Phase = v1alpha1.AnalysisPhaseInconclusive
	case r.CanaryPods == 0:
		m.Phase, m.Message = v1alpha1.AnalysisPhaseInconclusive, "no canary pod was analysed: "+m.Message
	case metric.SuccessCondition == "" && metric.FailureCondition == "":
		m.Phase = v1alpha1.AnalysisPhaseFailed
		if r.Verdict == "promote" && r.Promote {
			m.Phase = v1alpha1.AnalysisPhaseSuccessful
		}
	default:
		phase, err := evaluate.EvaluateResult(resultMap(r), metric, *p.log)
		if err != nil {
			return p.errored(m, fmt.Errorf("evaluating the template's conditions on fixloop's result: %w", err))
		}
		m.Phase = phase
	}
	return m
}

func (p *provider) errored(m v1alpha1.Measurement, err error) v1alpha1.Measurement {
	p.log.WithError(err).Warn("measurement error")
	m.Phase, m.Message, m.FinishedAt, m.ResumeAt = v1alpha1.AnalysisPhaseError, err.Error(), p.metaNow(), nil
	if m.StartedAt == nil {
		m.StartedAt = m.FinishedAt
	}
	return m
}

func (p *provider) metaNow() *metav1.Time {
	t := metav1.NewTime(p.now())
	return &t
}

// analysisRequest derives what to analyse from the AnalysisRun: the Rollout that owns it and the canary
// pod-template hash Argo labels it with, so no extra pod labels are needed.
func analysisRequest(run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, cfg *Config) (argorun.Request, error) {
	if run == nil {
		return argorun.Request{}, fmt.Errorf("no AnalysisRun given")
	}
	rollout := cfg.Rollout
	for _, o := range run.OwnerReferences {
		if rollout == "" && o.Kind == "Rollout" {
			rollout = o.Name
		}
	}
	if rollout == "" {
		return argorun.Request{}, fmt.Errorf("AnalysisRun %s/%s is not owned by a Rollout: set rollout in the plugin configuration", run.Namespace, run.Name)
	}
	return argorun.Request{ID: measurementID(run, metric), Namespace: run.Namespace, Rollout: rollout,
		CanaryHash: run.Labels[podTemplateHashLabel], AnalysisRun: run.Name, ExtraPrompt: cfg.ExtraPrompt,
		Ignore: cfg.Ignore, Mask: cfg.Mask, RepoURL: cfg.RepoURL, BaseBranch: cfg.BaseBranch}, nil
}

var unsafeIDChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// measurementID names one measurement: run UID, metric and the measurement's index, so a repeated Run
// of the same measurement joins the same analysis and the next measurement starts a fresh one.
func measurementID(run *v1alpha1.AnalysisRun, metric v1alpha1.Metric) string {
	n := 0
	for _, mr := range run.Status.MetricResults {
		if mr.Name == metric.Name {
			n = len(mr.Measurements)
		}
	}
	name := unsafeIDChars.ReplaceAllString(metric.Name, "-")
	if len(name) > 100 {
		name = name[:100]
	}
	return fmt.Sprintf("%s.%s.%d", run.UID, name, n)
}

func resultMetadata(r *argorun.Result) map[string]string {
	md := map[string]string{metaVerdict: r.Verdict, metaConfidence: fmt.Sprint(r.Confidence),
		metaSummary: clip(r.Analysis, 1024), metaCanary: fmt.Sprintf("%s (%d pods; stable %s, %d pods)", r.CanaryHash, r.CanaryPods, r.StableHash, r.StablePods)}
	for k, v := range map[string]string{metaRootCause: clip(r.RootCause, 512), metaFingerprint: r.Fingerprint, metaIssueURL: r.IssueURL, metaPRLink: r.PRLink, metaReport: r.Report} {
		if v != "" {
			md[k] = v
		}
	}
	return md
}

// resultMap is what successCondition/failureCondition see as `result`.
func resultMap(r *argorun.Result) map[string]any {
	b, _ := json.Marshal(r)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i > 0 {
		s = s[:i+1]
	}
	return clip(s, 300)
}
