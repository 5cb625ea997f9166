package triage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fixloop/fixloop/internal/fence"
	"github.com/fixloop/fixloop/internal/store"
)

// analysisClaimKey names the claim on running one cached analysis: the same lease rule as issue
// filing, hand-off and fixes (a short lease renewed while the work runs).
func analysisClaimKey(k store.AnalysisKey) string {
	return "analysis|" + k.Namespace + "|" + k.Rollout + "|" + k.CanaryHash + "|" + k.Run
}

// ensureAnalysis returns the cached analysis, starting one when nobody runs it. The run holds the
// analysis's claim with the agent's short lease, renewed while it runs, so replicas sharing the store
// never run it side by side, and one that dies mid-analysis (SIGKILL, a lost node) is replaced after
// one lease instead of after the whole analysis timeout.
func (t *Triage) ensureAnalysis(ctx context.Context, key store.AnalysisKey, in AnalyzeInput) (*store.Analysis, error) {
	a, err := t.cfg.Store.GetAnalysis(ctx, key)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("analysis cache: %w", err)
	}
	if t.answers(key, a) {
		return a, nil
	}
	c, won, err := t.cfg.Store.AcquireClaim(ctx, analysisClaimKey(key), store.NewClaimOwner(), t.cfg.ClaimLease)
	if err != nil {
		return nil, fmt.Errorf("analysis claim: %w", err)
	}
	if !won { // a live holder is running it (maybe on another replica)
		return &store.Analysis{Key: key, Status: store.AnalysisRunning, Owner: c.Owner, StartedAt: c.UpdatedAt}, nil
	}
	// The holder before this one may have finished between the read and the claim.
	if a, err = t.cfg.Store.GetAnalysis(ctx, key); err == nil && t.answers(key, a) {
		t.releaseAnalysis(ctx, c)
		return a, nil
	}
	run := store.Analysis{Key: key, Status: store.AnalysisRunning, Owner: c.Owner}
	if a != nil && a.Status == store.AnalysisFailed {
		run.Error = a.Error // keep the last failure visible while retrying
	}
	if err := t.cfg.Store.PutAnalysis(ctx, run); err != nil {
		t.releaseAnalysis(ctx, c)
		return nil, fmt.Errorf("analysis cache: %w", err)
	}
	// The caller's identity goes along (its scopes decide issue filing and fixes); its cancellation not.
	go t.runCachedAnalysis(context.WithoutCancel(ctx), c, key, in)
	return &run, nil
}

// answers says whether a cached analysis is the answer to give: a finished one, unless it is an
// inconclusive verdict more than a minute old (more data may have come) or an old answer to someone
// other than a running AnalysisRun (a person asking by hand gets a fresh one).
func (t *Triage) answers(key store.AnalysisKey, a *store.Analysis) bool {
	if a == nil || a.Status != store.AnalysisDone {
		return false
	}
	if time.Since(a.UpdatedAt) <= time.Minute {
		return true
	}
	var v WebVerdict
	return json.Unmarshal(a.Result, &v) != nil || v.Verdict != VerdictInconclusive && isArgoRun(key)
}

func (t *Triage) releaseAnalysis(ctx context.Context, c store.Claim) {
	if err := t.cfg.Store.ReleaseClaim(context.WithoutCancel(ctx), c.Key, c.Owner, false, nil); err != nil && !errors.Is(err, store.ErrClaimLost) {
		t.log.Warn("could not release an analysis claim", "key", c.Key, "err", err)
	}
}

// runCachedAnalysis runs the analysis while holding its claim and caches the verdict, unless the claim
// was taken over meanwhile (this replica stalled past its lease): then the new holder's run answers,
// and this one writes nothing.
func (t *Triage) runCachedAnalysis(ctx context.Context, c store.Claim, key store.AnalysisKey, in AnalyzeInput) {
	_, err := store.Keep(ctx, t.cfg.Store, c, t.cfg.ClaimLease, false, func(ctx context.Context) ([]byte, error) {
		rec := t.analyseForCache(ctx, key, in)
		if err := fence.Verify(ctx); err != nil {
			return nil, err
		}
		return nil, t.cfg.Store.PutAnalysis(ctx, rec)
	})
	if err != nil {
		t.log.Warn("web provider analysis not cached", "rollout", key.Namespace+"/"+key.Rollout, "canary", key.CanaryHash, "err", err)
	}
}

// analyseForCache runs one analysis and returns the record to cache: the verdict, or the failure.
func (t *Triage) analyseForCache(ctx context.Context, key store.AnalysisKey, in AnalyzeInput) store.Analysis {
	// One occurrence per asking run: a crash and re-run of the same run adds no comment.
	res, err := t.analyze(ctx, in, "argo-web:"+key.Namespace+"/"+key.Rollout+"@"+key.CanaryHash+"/"+key.Run)
	if err == nil && res.CanaryHash != "" && res.CanaryHash != key.CanaryHash {
		err = fmt.Errorf("canary revision changed during analysis (%s → %s)", key.CanaryHash, res.CanaryHash)
	}
	if err != nil {
		t.log.Warn("web provider analysis failed", "rollout", key.Namespace+"/"+key.Rollout, "err", err)
		return store.Analysis{Key: key, Status: store.AnalysisFailed, Error: err.Error()}
	}
	at := res.AnalyzedAt
	v := WebVerdict{Status: "done", Result: *resultOf(res), Namespace: key.Namespace, Rollout: key.Rollout, AnalyzedAt: &at, Run: key.Run,
		Untrusted: res.Untrusted}
	v.CanaryHash = key.CanaryHash
	raw, _ := json.Marshal(v)
	t.log.Info("canary analysed for the web metric provider", "rollout", key.Namespace+"/"+key.Rollout, "canary", key.CanaryHash,
		"verdict", v.Verdict, "confidence", v.Confidence, "ms", res.DurationMS)
	return store.Analysis{Key: key, Status: store.AnalysisDone, Result: raw}
}
