package triage

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/fixloop/fixloop/internal/argorun"
	"github.com/fixloop/fixloop/internal/judge"
	"github.com/fixloop/fixloop/internal/kube"
	"github.com/fixloop/fixloop/internal/store"
)

// PluginRequest is what argoproj-labs/rollouts-plugin-metric-ai sends in agent mode.
type PluginRequest struct {
	UserID   string        `json:"userId"`
	Prompt   string        `json:"prompt"`
	Context  PluginContext `json:"context"`
	MemoryID string        `json:"memoryId"`
}

// PluginContext is the plugin request's context object.
type PluginContext struct {
	Namespace      string `json:"namespace"`
	RolloutName    string `json:"rolloutName"`
	StableSelector string `json:"stableSelector"`
	CanarySelector string `json:"canarySelector"`
	ExtraPrompt    string `json:"extraPrompt,omitempty"`
	RepoURL        string `json:"repoUrl,omitempty"`
	BaseBranch     string `json:"baseBranch,omitempty"`
}

// PluginResponse is what the plugin parses; confidence is an integer 0-100. The plugin marks the
// measurement Successful only when promote is true, so inconclusive answers promote:false.
type PluginResponse struct {
	Analysis    string `json:"analysis"`
	RootCause   string `json:"rootCause"`
	Remediation string `json:"remediation"`
	PRLink      string `json:"prLink,omitempty"`
	Promote     bool   `json:"promote"`
	Confidence  int    `json:"confidence"`
}

// WebVerdict is the JSON the web metric provider endpoint returns (jsonPath "{$}"): the plugin's flat
// verdict (argorun.Result, so both providers name every field alike) plus who it was computed for.
type WebVerdict struct {
	Status string `json:"status"` // done | running | no-canary
	argorun.Result
	Namespace  string     `json:"namespace"`
	Rollout    string     `json:"rollout"`
	AnalyzedAt *time.Time `json:"analyzedAt,omitempty"`
	// Run names who the verdict was computed for: rollout UID / AnalysisRun name / its UID ("adhoc"
	// without a running AnalysisRun), plus "#req-…" when the request supplied its own patterns.
	Run       string   `json:"run,omitempty"`
	Untrusted []string `json:"untrusted,omitempty"`
}

// WebRequest is the web provider's jsonBody.
type WebRequest struct {
	Namespace   string   `json:"namespace"`
	Rollout     string   `json:"rollout"`
	ExtraPrompt string   `json:"extraPrompt,omitempty"`
	Ignore      []string `json:"ignore,omitempty"`
	Mask        []string `json:"mask,omitempty"`
	RepoURL     string   `json:"repoUrl,omitempty"`
	BaseBranch  string   `json:"baseBranch,omitempty"`
	// WaitSeconds is how long this request may wait for a running analysis (default 7: inside the web
	// provider's default 10 s timeout). Raise it together with the template's timeoutSeconds.
	WaitSeconds int `json:"waitSeconds,omitempty"`
}

// RegisterArgo mounts the Argo Rollouts entry points:
//
//	GET  /                  200 (the AI metric plugin probes it)
//	POST /a2a/analyze       the AI metric plugin's agent-mode route (synchronous, < 5 min)
//	POST /argo/v1/verdict   the built-in web metric provider (fast; analysis runs asynchronously)
func (t *Triage) RegisterArgo(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"name": "fixloop", "status": "ok",
			"endpoints": []string{"/mcp", "/a2a/analyze", "/argo/v1/verdict", "/agents", "/.well-known/agent-card.json"}})
	})
	mux.Handle("POST /a2a/analyze", t.recover(t.handlePlugin))
	mux.Handle("POST /argo/v1/verdict", t.recover(t.handleWebVerdict))
}

// recover turns a panic into a 500 naming the failure instead of a dropped connection.
func (t *Triage) recover(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				t.log.Error("panic in Argo entry point", "path", r.URL.Path, "panic", p)
				writeJSON(w, http.StatusInternalServerError, map[string]string{"error": fmt.Sprintf("internal error: %v", p)})
			}
		}()
		h(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func (t *Triage) handlePlugin(w http.ResponseWriter, r *http.Request) {
	var req PluginRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "request body is not the AI metric plugin's JSON: " + err.Error()})
		return
	}
	in := AnalyzeInput{Namespace: req.Context.Namespace, Rollout: req.Context.RolloutName, StableSelector: req.Context.StableSelector,
		CanarySelector: req.Context.CanarySelector, ExtraPrompt: req.Context.ExtraPrompt, RepoURL: req.Context.RepoURL, BaseBranch: req.Context.BaseBranch}
	fillFromText(req.Prompt, &in.Namespace, &in.Rollout, nil, nil)
	if in.Namespace == "" || in.Rollout == "" {
		// The plugin treats non-200 as an error; a clear inconclusive keeps the canary from passing.
		writeJSON(w, http.StatusOK, PluginResponse{Analysis: "Inconclusive: the request names no namespace/rollout (context.namespace, context.rolloutName).", Confidence: 0})
		return
	}
	if kc := t.cfg.Tools.Kube; kc != nil {
		// The plugin's template settings are trusted as read from the AnalysisRun, not from this body.
		if ro, err := kc.GetRollout(r.Context(), in.Namespace, in.Rollout); err == nil {
			ar, err := activeAnalysisRun(r.Context(), kc, ro, "plugin:"+metricAIPlugin)
			if err != nil {
				t.log.Warn("could not read AnalysisRuns; request settings stay untrusted", "rollout", in.Namespace+"/"+in.Rollout, "err", err)
			}
			in.run = runInputs(ar)
		}
	}
	res, err := t.AnalyzeCanary(r.Context(), in, "argo-plugin:"+newID(), nil)
	if errors.Is(err, ErrRefused) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusOK, PluginResponse{Analysis: "Inconclusive: " + err.Error(), Confidence: 0})
		return
	}
	t.log.Info("canary analysed for the AI metric plugin", "rollout", in.Namespace+"/"+in.Rollout, "verdict", res.Verdict, "confidence", res.Confidence, "ms", res.DurationMS)
	writeJSON(w, http.StatusOK, pluginResponse(res))
}

func pluginResponse(res *AnalyzeResult) PluginResponse {
	analysis := res.Analysis
	if res.Verdict == VerdictInconclusive && !strings.HasPrefix(analysis, "Inconclusive") {
		analysis = "Inconclusive (not promoting): " + analysis
	}
	// Notes the analysis already states (compare_canary's metrics-source note) are not repeated.
	var notes []string
	for _, n := range res.Notes {
		if !strings.Contains(analysis, n) {
			notes = append(notes, n)
		}
	}
	if len(notes) > 0 {
		analysis += " Notes: " + strings.Join(notes, "; ") + "."
	}
	if len(res.Untrusted) > 0 {
		analysis += " Untrusted request settings: " + strings.Join(res.Untrusted, "; ") + "."
	}
	if res.Issue != nil {
		analysis += " Issue: " + res.Issue.URL
	}
	if res.Report != "" {
		analysis += " Report: " + res.Report
	}
	return PluginResponse{Analysis: analysis, RootCause: res.RootCause, Remediation: res.Remediation, PRLink: res.PRLink,
		Promote: res.Promote, Confidence: res.Confidence}
}

func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// handleWebVerdict answers the web metric provider:
//   - a finished verdict for the rollout's current canary revision → 200 with status "done";
//   - otherwise it starts (or joins) the analysis in the background, waits up to waitSeconds, and if the
//     verdict is still not ready answers 503 {status:"running"} with Retry-After. Argo counts a non-2xx
//     as a measurement Error, which does not count toward `count` and is retried after 10 s, so with
//     `consecutiveErrorLimit` raised (the shipped template uses 30, about 5 minutes) a slow analysis is
//     simply waited for, and never read as a pass;
//   - no canary in flight → 200 {status:"no-canary", promote:false}.
//
// Verdicts are cached per (namespace, rollout, canary pod-template hash, asking run) in the store: every
// poll of the same AnalysisRun gets the same answer, while a retried AnalysisRun or a re-created rollout
// (new UID) with the same pod template gets a verdict computed after it started. A request without a
// running AnalysisRun (a person calling by hand) gets a verdict at most a minute old, as does an
// inconclusive one (more data may have arrived). A verdict computed with patterns the request supplied
// is cached under its own key, so Argo's polls never read it.
func (t *Triage) handleWebVerdict(w http.ResponseWriter, r *http.Request) {
	var req WebRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want a JSON body {namespace, rollout, ...}: " + err.Error()})
		return
	}
	if req.Namespace == "" || req.Rollout == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "namespace and rollout are required in jsonBody"})
		return
	}
	wait := 7 * time.Second
	if req.WaitSeconds > 0 {
		wait = time.Duration(req.WaitSeconds) * time.Second
	}
	ctx := r.Context()
	if t.cfg.Tools.Kube == nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "no cluster configured: set KUBECONFIG or --kubeconfig"})
		return
	}
	ro, err := t.cfg.Tools.Kube.GetRollout(ctx, req.Namespace, req.Rollout)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": fmt.Sprintf("read rollout %s/%s: %v", req.Namespace, req.Rollout, err)})
		return
	}
	if !ro.CanaryInFlight() {
		writeJSON(w, http.StatusOK, WebVerdict{Status: "no-canary", Namespace: req.Namespace, Rollout: req.Rollout, Result: argorun.Result{Verdict: VerdictInconclusive,
			Analysis: fmt.Sprintf("rollout %s/%s has no canary in flight (current revision %s is stable)", req.Namespace, req.Rollout, ro.CurrentHash)}})
		return
	}
	in := AnalyzeInput{Namespace: req.Namespace, Rollout: req.Rollout, ExtraPrompt: req.ExtraPrompt, Ignore: req.Ignore, Mask: req.Mask,
		RepoURL: req.RepoURL, BaseBranch: req.BaseBranch}
	key, err := t.webRunKey(ctx, ro, &in)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	deadline := time.Now().Add(wait)
	for {
		a, err := t.ensureAnalysis(ctx, key, in)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		if a.Status == store.AnalysisDone {
			var v WebVerdict
			if err := json.Unmarshal(a.Result, &v); err == nil {
				v.Status = "done"
				writeJSON(w, http.StatusOK, v)
				return
			}
		}
		if time.Now().After(deadline) {
			w.Header().Set("Retry-After", "10")
			writeJSON(w, http.StatusServiceUnavailable, WebVerdict{Status: "running", Namespace: req.Namespace, Rollout: req.Rollout,
				Result: argorun.Result{Verdict: VerdictInconclusive, CanaryHash: key.CanaryHash, Analysis: "analysis in progress; Argo retries this measurement"}})
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// webRunKey identifies who asks: the rollout (its UID, so a re-created rollout starts afresh) and the
// running AnalysisRun that polls (a retry is a new AnalysisRun). The AnalysisRun's template settings
// become in.run (trusted); patterns only the request carries get their own key, never Argo's.
func (t *Triage) webRunKey(ctx context.Context, ro *kube.Rollout, in *AnalyzeInput) (store.AnalysisKey, error) {
	key := store.AnalysisKey{Namespace: ro.Namespace, Rollout: ro.Name, CanaryHash: ro.CurrentHash}
	run := "adhoc"
	ar, err := activeAnalysisRun(ctx, t.cfg.Tools.Kube, ro, "web")
	if err != nil {
		t.log.Warn("could not read AnalysisRuns; answering as to a hand-made request", "rollout", ro.Namespace+"/"+ro.Name, "err", err)
	}
	if ar != nil {
		run = ar.GetName() + "/" + string(ar.GetUID())
		in.run = runInputs(ar)
	}
	key.Run = string(ro.Object.GetUID()) + "/" + run
	_, extras := t.inputs(ctx, *in)
	if err := judge.CheckPatterns(extras.Ignore, extras.Mask); err != nil {
		return key, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	if len(extras.Ignore)+len(extras.Mask) > 0 {
		sum := sha256.Sum256([]byte(strings.Join(extras.Ignore, "\x00") + "\x01" + strings.Join(extras.Mask, "\x00")))
		key.Run += "#req-" + hex.EncodeToString(sum[:6])
	}
	return key, nil
}

// isArgoRun says whether a key answers a running AnalysisRun's polls with trusted settings only.
func isArgoRun(key store.AnalysisKey) bool {
	return !strings.HasSuffix(key.Run, "/adhoc") && !strings.Contains(key.Run, "#req-")
}
