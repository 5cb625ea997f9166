package triage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fixloop/fixloop/internal/auth"
	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/store"
)

// HandoffConfig hands filed failures to a coding agent that lives on GitHub (a label, an assignee or a
// mention summons it) instead of fixloop's own fixer, and follows it to the pull request.
type HandoffConfig struct {
	// FixerFor resolves the choice for a rollout from configuration and its fixloop.dev/fixer
	// annotation: kind is opencode | label | assignee | mention | none. Nil: always opencode.
	FixerFor     func(namespace, annotation string) (kind, value string, err error)
	PRTimeout    time.Duration // no PR after this long → flagged (default 2h)
	PollInterval time.Duration // between looks while waiting (default 1m)
	Wait         time.Duration // how long one analysis waits for the PR (0: one look)
}

// HandoffStatus is what the triage result reports of a hand-off: only what was seen through the API.
type HandoffStatus struct {
	Fixer         string    `json:"fixer"` // e.g. label:jules
	State         string    `json:"state"` // handed_off | agent_working | pr_open | pr_merged | pr_closed
	IssueURL      string    `json:"issueUrl"`
	HandedOffAt   time.Time `json:"handedOffAt"`
	AgentComments int       `json:"agentComments"`
	LastComment   string    `json:"lastComment,omitempty"`
	PRURL         string    `json:"prUrl,omitempty"`
	PRBase        string    `json:"prBase,omitempty"`
	PRChecks      string    `json:"prChecks,omitempty"`
	PRProblems    []string  `json:"prProblems,omitempty"`
	Flagged       bool      `json:"flagged,omitempty"` // no PR within the configured time
	Repeat        bool      `json:"repeat,omitempty"`  // handed off by an earlier occurrence; not applied again
}

// handoffRecord is kept in the store per fingerprint: the hand-off is applied once, ever.
type handoffRecord struct {
	Fingerprint string             `json:"fingerprint"`
	Repo        string             `json:"repo"`
	Issue       int                `json:"issue"`
	IssueURL    string             `json:"issueUrl"`
	Kind        string             `json:"kind"`
	Value       string             `json:"value"`
	Base        string             `json:"base"`
	HandedOffAt time.Time          `json:"handedOffAt"`
	Obs         github.Observation `json:"observation"`
	Flagged     bool               `json:"flagged"`
	Namespace   string             `json:"namespace,omitempty"`
	Rollout     string             `json:"rollout,omitempty"`
}

const handoffKV = "triage-handoff" // fingerprint → handoffRecord

// handoffGitHub is what a hand-off needs of the GitHub client (the go-github client has it).
type handoffGitHub interface {
	HandOff(ctx context.Context, repo string, number int, h github.Handoff) error
	Observe(ctx context.Context, repo string, issue int, baseBranch string, prev github.Observation) (github.Observation, error)
}

// fixerChoice resolves who fixes this rollout's failure (annotation > namespace > global).
func (t *Triage) fixerChoice(ctx context.Context, in AnalyzeInput) (kind, value string, err error) {
	if t.cfg.Handoff.FixerFor == nil {
		return "opencode", "", nil
	}
	annotation := ""
	if t.cfg.Tools.Kube != nil && in.Rollout != "" {
		if ro, gerr := t.cfg.Tools.Kube.GetRollout(ctx, in.Namespace, in.Rollout); gerr == nil && ro.Object != nil {
			annotation = ro.Object.GetAnnotations()["fixloop.dev/fixer"]
		}
	}
	return t.cfg.Handoff.FixerFor(in.Namespace, annotation)
}

// handOff applies the configured hand-off for a filed issue. It returns false when fixloop's own fixer
// should run (opencode), true when the fix went elsewhere (a coding agent, or none).
func (t *Triage) handOff(ctx context.Context, repo, base, fp string, in AnalyzeInput, res *AnalyzeResult, progress Progress) bool {
	kind, value, err := t.fixerChoice(ctx, in)
	switch {
	case err != nil:
		res.Notes = append(res.Notes, "fixer choice: "+err.Error()+": no fix handed off")
		return true
	case kind == "opencode":
		return false
	case kind == "none":
		res.Notes = append(res.Notes, "fixer: none configured: no fix started")
		return true
	}
	if !auth.Allowed(ctx, auth.ScopeFix) {
		res.Notes = append(res.Notes, "the caller lacks scope fix: not handed to the coding agent")
		return true
	}
	gh, ok := t.cfg.GitHub.(handoffGitHub)
	if !ok || res.Issue == nil {
		res.Notes = append(res.Notes, "the GitHub client cannot hand issues to a coding agent: no fix handed off")
		return true
	}
	rec, found, err := t.applyHandoff(ctx, gh, fp, &handoffRecord{Fingerprint: fp, Repo: res.Issue.Repo, Issue: res.Issue.Number,
		IssueURL: res.Issue.URL, Kind: kind, Value: value, Base: base, Namespace: in.Namespace, Rollout: in.Rollout}, progress)
	if err != nil {
		res.FixerError = "hand-off: " + err.Error()
		return true
	}
	if !found {
		t.handoffChanged(withinAnalysis(ctx), rec) // recorded for the report; the verdict's notice tells Slack
	}
	t.follow(withinAnalysis(ctx), gh, rec, t.cfg.Handoff.Wait, progress)
	res.Handoff = rec.status(found)
	if rec.Obs.PR != nil && len(rec.Obs.PRProblems) == 0 {
		res.PRLink = rec.Obs.PR.URL
	}
	return true
}

// applyHandoff hands the issue to the coding agent unless a record says it already was, holding the
// fingerprint's claim so that replicas (and concurrent calls) apply it once. A record whose hand-off
// was begun but never confirmed (the replica died mid-call) is applied again: labels and assignees are
// idempotent on GitHub. It returns the record and whether an earlier call had handed it off.
func (t *Triage) applyHandoff(ctx context.Context, gh handoffGitHub, fp string, fresh *handoffRecord, progress Progress) (*handoffRecord, bool, error) {
	var rec *handoffRecord
	var found bool
	err := t.holding(ctx, "handoff|"+fp, func(ctx context.Context) error {
		var err error
		if rec, found, err = t.loadHandoff(ctx, fp); err != nil {
			return fmt.Errorf("record unreadable: %w: not handing off again", err)
		}
		if found && !rec.HandedOffAt.IsZero() {
			return nil
		}
		if !found {
			rec = fresh
			rec.Obs.State = github.HandoffHandingOff // a takeover knows a call may have reached GitHub
			t.saveHandoff(ctx, rec)
		}
		progress(fmt.Sprintf("handing issue #%d to the coding agent (%s:%s)", rec.Issue, rec.Kind, rec.Value))
		if err := gh.HandOff(ctx, rec.Repo, rec.Issue, github.Handoff{Kind: rec.Kind, Value: rec.Value}); err != nil {
			return err
		}
		rec.HandedOffAt = t.cfg.Now().UTC()
		rec.Obs.State = github.HandoffHandedOff
		t.saveHandoff(ctx, rec)
		found = false
		return nil
	})
	return rec, found, err
}

// follow looks at the issue until a pull request is seen or wait has passed (at least once), then
// flags a hand-off that has gone PRTimeout without one. The record is saved after each change.
func (t *Triage) follow(ctx context.Context, gh handoffGitHub, rec *handoffRecord, wait time.Duration, progress Progress) {
	deadline := t.cfg.Now().Add(wait)
	for {
		prevState, prevFlagged := rec.Obs.State, rec.Flagged
		obs, err := gh.Observe(ctx, rec.Repo, rec.Issue, rec.Base, rec.Obs)
		if err != nil {
			t.log.Warn("could not follow the hand-off", "issue", rec.IssueURL, "err", err)
		} else {
			if obs.State != rec.Obs.State {
				progress(fmt.Sprintf("coding agent on #%d: %s", rec.Issue, obs.State))
			}
			rec.Obs = obs
		}
		if rec.Obs.PR == nil && !rec.Flagged && t.cfg.Now().Sub(rec.HandedOffAt) >= t.prTimeout() {
			rec.Flagged = true
			t.log.Warn("coding agent opened no pull request in time", "issue", rec.IssueURL, "fixer", rec.Kind+":"+rec.Value, "after", t.prTimeout())
		}
		t.saveHandoff(ctx, rec)
		if rec.Obs.State != prevState || rec.Flagged != prevFlagged {
			t.handoffChanged(ctx, rec)
		}
		if rec.Obs.PR != nil || !t.cfg.Now().Before(deadline) || !sleepCtx(ctx, t.pollInterval()) {
			return
		}
	}
}

func (t *Triage) prTimeout() time.Duration {
	if t.cfg.Handoff.PRTimeout > 0 {
		return t.cfg.Handoff.PRTimeout
	}
	return 2 * time.Hour
}

func (t *Triage) pollInterval() time.Duration {
	if t.cfg.Handoff.PollInterval > 0 {
		return t.cfg.Handoff.PollInterval
	}
	return time.Minute
}

func (r *handoffRecord) status(repeat bool) *HandoffStatus {
	s := &HandoffStatus{Fixer: r.Kind + ":" + r.Value, State: r.Obs.State, IssueURL: r.IssueURL, HandedOffAt: r.HandedOffAt,
		AgentComments: r.Obs.AgentComments, LastComment: r.Obs.LastComment, Flagged: r.Flagged, Repeat: repeat}
	if p := r.Obs.PR; p != nil {
		s.PRURL, s.PRBase, s.PRChecks, s.PRProblems = p.URL, p.Base, r.Obs.PRChecks, r.Obs.PRProblems
	}
	return s
}

func (t *Triage) loadHandoff(ctx context.Context, fp string) (*handoffRecord, bool, error) {
	raw, err := t.cfg.Store.GetKV(ctx, handoffKV, fp)
	if errors.Is(err, store.ErrNotFound) || err == nil && len(raw) == 0 {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var rec handoffRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, false, err
	}
	return &rec, true, nil
}

func (t *Triage) saveHandoff(ctx context.Context, rec *handoffRecord) {
	raw, _ := json.Marshal(rec)
	if err := t.cfg.Store.PutKV(ctx, handoffKV, rec.Fingerprint, raw); err != nil {
		t.log.Warn("could not record the hand-off", "fingerprint", rec.Fingerprint, "err", err)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}
