package triage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/fixloop/fixloop/internal/argorun"
	"github.com/fixloop/fixloop/internal/auth"
)

// Limits of the asynchronous analysis registry: bounded memory whatever callers send.
const (
	maxRunningAnalyses = 16
	maxKeptAnalyses    = 1000
	keepFinished       = time.Hour
)

// runRegistry holds the analyses started by fixloop's metric plugin (internal/argorun). In memory on
// purpose: after a restart the plugin finds its id gone (404) and starts the analysis again.
type runRegistry struct {
	t    *Triage
	base context.Context
	mu   sync.Mutex
	runs map[string]*asyncRun
}

type asyncRun struct {
	status argorun.Status
	cancel context.CancelFunc
}

// RegisterArgoRuns mounts the asynchronous analysis routes of fixloop's own metric plugin. Analyses end
// when ctx ends (server shutdown).
func (t *Triage) RegisterArgoRuns(ctx context.Context, mux *http.ServeMux) {
	r := &runRegistry{t: t, base: ctx, runs: map[string]*asyncRun{}}
	mux.Handle("POST "+argorun.Path, t.recover(r.handleStart))
	mux.Handle("GET "+argorun.Path+"/{id}", t.recover(r.handleGet))
	mux.Handle("DELETE "+argorun.Path+"/{id}", t.recover(r.handleDelete))
}

func (r *runRegistry) handleStart(w http.ResponseWriter, req *http.Request) {
	var in argorun.Request
	// Unknown fields are ignored: a newer plugin may talk to an older fixloop.
	if err := json.NewDecoder(io.LimitReader(req.Body, 64<<10)).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want an argorun.Request JSON body: " + err.Error()})
		return
	}
	if err := in.Validate(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	st, created, err := r.start(req.Context(), in)
	if err != nil {
		w.Header().Set("Retry-After", "10")
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": err.Error()})
		return
	}
	code := http.StatusOK
	if created || st.State == argorun.StateRunning {
		code = http.StatusAccepted
	}
	writeJSON(w, code, st)
}

func (r *runRegistry) handleGet(w http.ResponseWriter, req *http.Request) {
	st, ok := r.get(req.PathValue("id"))
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no analysis " + req.PathValue("id") + " (finished over an hour ago, or fixloop restarted): start it again"})
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (r *runRegistry) handleDelete(w http.ResponseWriter, req *http.Request) {
	id := req.PathValue("id")
	r.mu.Lock()
	run := r.runs[id]
	delete(r.runs, id)
	r.mu.Unlock()
	if run != nil {
		run.cancel()
		r.t.log.Info("metric plugin analysis cancelled", "id", id)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *runRegistry) get(id string) (argorun.Status, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	run, ok := r.runs[id]
	if !ok {
		return argorun.Status{}, false
	}
	return run.status, true
}

// start returns the analysis named in.ID, starting it when it is new. The analysis runs as the caller:
// its scopes decide whether an issue is filed and a fix started.
func (r *runRegistry) start(reqCtx context.Context, in argorun.Request) (argorun.Status, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if run, ok := r.runs[in.ID]; ok {
		return run.status, false, nil
	}
	r.evictLocked(time.Now())
	running := 0
	for _, run := range r.runs {
		if run.status.State == argorun.StateRunning {
			running++
		}
	}
	if running >= maxRunningAnalyses || len(r.runs) >= maxKeptAnalyses {
		return argorun.Status{}, false, fmt.Errorf("%d analyses running (limit %d): retry later", running, maxRunningAnalyses)
	}
	ctx, cancel := context.WithCancel(r.base)
	if id := auth.FromContext(reqCtx); id != nil {
		ctx = auth.WithIdentity(ctx, id)
	}
	run := &asyncRun{status: argorun.Status{ID: in.ID, State: argorun.StateRunning, StartedAt: time.Now().UTC()}, cancel: cancel}
	r.runs[in.ID] = run
	go r.analyse(ctx, run, in)
	return run.status, true, nil
}

// evictLocked forgets finished analyses older than keepFinished.
func (r *runRegistry) evictLocked(now time.Time) {
	for id, run := range r.runs {
		if f := run.status.FinishedAt; f != nil && now.Sub(*f) > keepFinished {
			delete(r.runs, id)
		}
	}
}

func (r *runRegistry) analyse(ctx context.Context, run *asyncRun, in argorun.Request) {
	defer run.cancel()
	res, err := r.t.AnalyzeCanary(ctx, AnalyzeInput{Namespace: in.Namespace, Rollout: in.Rollout, ExtraPrompt: in.ExtraPrompt,
		Ignore: in.Ignore, Mask: in.Mask, RepoURL: in.RepoURL, BaseBranch: in.BaseBranch}, "argo-plugin:"+in.ID, nil)
	if err == nil && in.CanaryHash != "" && res.CanaryHash != in.CanaryHash {
		// The pods judged are not the revision this AnalysisRun is about: never a verdict for it.
		err = fmt.Errorf("analysed canary revision %q, but the AnalysisRun is about %q (rollout moved on, or no canary in flight)", res.CanaryHash, in.CanaryHash)
	}
	now := time.Now().UTC()
	r.mu.Lock()
	defer r.mu.Unlock()
	run.status.FinishedAt = &now
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		run.status.State, run.status.Error = argorun.StateCanceled, "cancelled"
	case err != nil:
		run.status.State, run.status.Error = argorun.StateFailed, err.Error()
	default:
		run.status.State, run.status.Result = argorun.StateDone, resultOf(res)
	}
	r.t.log.Info("canary analysed for the fixloop metric plugin", "id", in.ID, "rollout", in.Namespace+"/"+in.Rollout,
		"state", run.status.State, "verdict", resultVerdict(run.status.Result), "err", run.status.Error)
}

func resultOf(res *AnalyzeResult) *argorun.Result {
	out := &argorun.Result{Verdict: res.Verdict, Promote: res.Promote, Confidence: res.Confidence, Analysis: pluginResponse(res).Analysis,
		RootCause: res.RootCause, Remediation: res.Remediation, Fingerprint: res.Fingerprint, PRLink: res.PRLink, Report: res.Report,
		CanaryHash: res.CanaryHash, StableHash: res.StableHash, StablePods: res.StablePods, CanaryPods: res.CanaryPods}
	if res.Issue != nil {
		out.IssueURL = res.Issue.URL
	}
	return out
}

func resultVerdict(r *argorun.Result) string {
	if r == nil {
		return ""
	}
	return r.Verdict
}
