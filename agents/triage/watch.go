package triage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"

	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/kube"
)

const watchKV = "rollout-watch" // ns/name/revision → triage task id: each failed revision is triaged once

// WatchTrigger marks an analyze_canary task started by the rollout watcher.
const WatchTrigger = "rollout-watch"

// Submit starts a triage task for a failed rollout revision (the A2A host, in-process) and returns its id.
type Submit func(ctx context.Context, data map[string]any) (string, error)

// WatchRollouts triages every Rollout that becomes Degraded or is aborted, whichever analysis (or person)
// aborted it, until ctx ends: each failed revision becomes one triage task (visible to A2A clients),
// across restarts and replicas. submit nil runs the triage in this goroutine instead.
func (t *Triage) WatchRollouts(ctx context.Context, kc kube.Client, namespaces []string, submit Submit) {
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	work := make(chan *kube.Rollout, 64)
	for _, ns := range namespaces {
		f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(kc.Dynamic(), 10*time.Minute, ns, nil)
		inf := f.ForResource(kube.RolloutsGVR).Informer()
		enqueue := func(obj any) {
			if u, ok := obj.(*unstructured.Unstructured); ok {
				if ro := kube.ParseRollout(u); failed(ro) {
					select {
					case work <- ro:
					default:
						t.log.Warn("rollout watcher: queue full; the next resync retries", "rollout", ro.Namespace+"/"+ro.Name)
					}
				}
			}
		}
		_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, n any) { enqueue(n) }})
		f.Start(ctx.Done())
	}
	t.log.Info("rollout watcher started", "namespaces", namespaces)
	for {
		select {
		case <-ctx.Done():
			return
		case ro := <-work:
			t.startTriage(ctx, ro, submit)
		}
	}
}

// failed reports an aborted or Degraded rollout with a revision to blame.
func failed(ro *kube.Rollout) bool {
	return (ro.Aborted || ro.Phase == "Degraded") && ro.CurrentHash != ""
}

// startTriage submits one triage task per failed revision.
func (t *Triage) startTriage(ctx context.Context, ro *kube.Rollout, submit Submit) {
	key := ro.Namespace + "/" + ro.Name + "/" + ro.CurrentHash
	if v, err := t.cfg.Store.GetKV(ctx, watchKV, key); err == nil && len(v) > 0 {
		return
	}
	t.log.Info("rollout failed: starting triage", "rollout", ro.Namespace+"/"+ro.Name, "revision", ro.CurrentHash, "phase", ro.Phase, "aborted", ro.Aborted, "message", ro.Message)
	in := AnalyzeInput{Namespace: ro.Namespace, Rollout: ro.Name}
	if submit == nil {
		if _, err := t.triageWatched(ctx, in, "watch/"+key, nil); err == nil {
			_ = t.cfg.Store.PutKV(ctx, watchKV, key, []byte("in-process"))
		}
		return
	}
	id, err := submit(ctx, map[string]any{"skill": SkillAnalyzeCanary, "namespace": ro.Namespace, "rollout": ro.Name, "trigger": WatchTrigger})
	if err != nil {
		t.log.Warn("rollout watcher: could not start the triage task; the next resync retries", "rollout", key, "err", err)
		return
	}
	_ = t.cfg.Store.PutKV(ctx, watchKV, key, []byte(id))
}

// triageWatched is analyze_canary for a revision Argo already failed. The rollout's state is read from
// the cluster (never taken from the request), so a caller cannot have an issue filed for a healthy
// rollout. When the comparison cannot blame the revision itself (the canary is scaled down, or the
// failure is in a metric fixloop does not read), Argo's reason is the evidence for one issue.
func (t *Triage) triageWatched(ctx context.Context, in AnalyzeInput, opID string, progress Progress) (*AnalyzeResult, error) {
	kc := t.cfg.Tools.Kube
	if kc == nil {
		return nil, kube.ErrNoCluster
	}
	ro, err := kc.GetRollout(ctx, in.Namespace, in.Rollout)
	if err != nil {
		return nil, err
	}
	res, err := t.AnalyzeCanary(withoutNotice(ctx), in, opID, progress)
	if err != nil {
		return nil, err
	}
	if !failed(ro) || res.Issue != nil || res.IssueError != "" {
		t.notifyVerdict(ctx, res)
		return res, nil
	}
	if err := t.fileArgoFailure(ctx, ro, opID, res); err != nil {
		res.IssueError = err.Error()
	}
	return res, nil
}

var reRevisionNumber = regexp.MustCompile(`\b(revision|Revision) \d+\b`)

// fileArgoFailure files the issue from Argo's status and the failed AnalysisRun, then hands the fix on.
func (t *Triage) fileArgoFailure(ctx context.Context, ro *kube.Rollout, opID string, res *AnalyzeResult) error {
	repo := t.cfg.DefaultRepo
	if repo == "" || t.cfg.GitHub == nil {
		return errors.New("no repository or GitHub token configured: no issue filed")
	}
	metrics := t.failedMetrics(ctx, ro)
	reason := firstNonEmpty(ro.Message, "rollout "+strings.ToLower(ro.Phase))
	// Fingerprint: the rollout and what failed, not the revision number, so a redeploy of the same bug
	// lands on the same issue.
	sig := reRevisionNumber.ReplaceAllString(reason, "$1 N")
	for _, m := range metrics {
		sig += "|" + m.Signal
	}
	sum := sha256.Sum256([]byte("argo|" + ro.Namespace + "/" + ro.Name + "|" + sig))
	fp := "argo-" + hex.EncodeToString(sum[:6])
	occ := sha256.Sum256([]byte(opID))
	analysis := fmt.Sprintf("Argo Rollouts aborted revision %s of %s/%s: %s", ro.CurrentHash, ro.Namespace, ro.Name, reason)
	if res.Analysis != "" {
		analysis += "\n\nfixloop's own comparison: " + res.Analysis
	}
	req := github.IssueRequest{Repo: repo, Fingerprint: fp, OccurrenceID: hex.EncodeToString(occ[:8]), Title: "rollout aborted: " + firstLine(reason),
		Summary: analysis, RootCause: reason, Remediation: "Read the failed analysis metrics in the evidence table, fix the regression in the revision and redeploy.",
		Verdict: VerdictAbort, Confidence: 100, Namespace: ro.Namespace, Rollout: ro.Name, Revision: ro.CurrentHash, StableRevision: ro.StableHash,
		Evidence: metrics, OccurredAt: t.cfg.Now().UTC(), Report: res.Report}
	is, err := t.fileIssue(ctx, repo, fp, req)
	if err != nil {
		return err
	}
	res.Issue, res.Fingerprint = is, fp
	res.RootCause, res.Remediation, res.CanaryHash, res.StableHash = reason, req.Remediation, ro.CurrentHash, ro.StableHash
	t.startFix(ctx, repo, t.cfg.DefaultBaseBranch, fp, opID, AnalyzeInput{Namespace: ro.Namespace, Rollout: ro.Name}, res, nop)
	t.argoAbortFiled(ctx, res, analysis)
	return nil
}

// failedMetrics reads the failed or errored metrics of the revision's AnalysisRuns.
func (t *Triage) failedMetrics(ctx context.Context, ro *kube.Rollout) []github.EvidenceRow {
	kc := t.cfg.Tools.Kube
	if kc == nil {
		return nil
	}
	list, err := kc.Dynamic().Resource(kube.AnalysisRunsGVR).Namespace(ro.Namespace).List(ctx,
		metav1.ListOptions{LabelSelector: "rollouts-pod-template-hash=" + ro.CurrentHash})
	if err != nil {
		return nil
	}
	var rows []github.EvidenceRow
	for _, ar := range list.Items {
		results, _, _ := unstructured.NestedSlice(ar.Object, "status", "metricResults")
		for _, r := range results {
			m, _ := r.(map[string]any)
			phase, _ := m["phase"].(string)
			if phase != "Failed" && phase != "Error" && phase != "Inconclusive" {
				continue
			}
			name, _ := m["name"].(string)
			msg, _ := m["message"].(string)
			rows = append(rows, github.EvidenceRow{Kind: "analysis", Signal: name, Canary: phase + lastMeasurement(m), Note: ar.GetName() + " " + msg})
		}
	}
	return rows
}

func lastMeasurement(m map[string]any) string {
	ms, _ := m["measurements"].([]any)
	if len(ms) == 0 {
		return ""
	}
	last, _ := ms[len(ms)-1].(map[string]any)
	if v, ok := last["value"].(string); ok && v != "" {
		return " (last value " + v + ")"
	}
	return ""
}
