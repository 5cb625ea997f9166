package fixer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fixloop/fixloop/internal/github"
	"github.com/fixloop/fixloop/internal/opencode"
	"github.com/fixloop/fixloop/internal/store"
	"github.com/fixloop/fixloop/internal/telemetry"
)

// One run of a fix, step by step (see fix): the existing pull request, the clone, the OpenCode
// session, its turn, delivery and verification, and how a run ends.

// fixRun is one run of fix: the request, its stored session record and the result being built.
type fixRun struct {
	*Fixer
	req      Request
	progress Progress
	rec      *store.FixerSession
	res      *Result
	dir      string
	branch   string
	attempts int  // prompts sent in earlier runs
	resuming bool // a turn of an earlier run is still in flight: follow it instead of prompting
}

// fix runs the steps in order: an existing pull request, the clone, the OpenCode session, one turn,
// then delivery and verification. Each step returns a final result when the run ends there.
func (f *Fixer) fix(ctx context.Context, req Request, progress Progress) (*Result, error) {
	release, err := f.acquireSlot(ctx, progress)
	if err != nil {
		return nil, err
	}
	defer release()
	r := &fixRun{Fixer: f, req: req, progress: progress}
	if err := r.loadRecord(ctx); err != nil {
		return nil, err
	}
	steps := []func(context.Context) (*Result, error){r.existingPR, r.clone, r.openSession, r.turn, r.deliverAndVerify}
	for _, step := range steps {
		if res, err := step(ctx); res != nil || err != nil {
			return res, err
		}
	}
	return nil, errors.New("fixer: the run ended without a result") // deliverAndVerify always returns one
}

// acquireSlot waits for one of the MaxConcurrent slots, saying so when it has to wait.
func (f *Fixer) acquireSlot(ctx context.Context, progress Progress) (release func(), err error) {
	select {
	case f.sem <- struct{}{}:
	default:
		progress(fmt.Sprintf("waiting for a free slot (%d fixes already running)", cap(f.sem)))
		telemetry.FixesWaiting.Inc()
		select {
		case f.sem <- struct{}{}:
			telemetry.FixesWaiting.Dec()
		case <-ctx.Done():
			telemetry.FixesWaiting.Dec()
			return nil, ctx.Err()
		}
	}
	telemetry.FixesRunning.Inc()
	return func() { <-f.sem; telemetry.FixesRunning.Dec() }, nil
}

// loadRecord reads the fingerprint's session record, creating it on the first run.
func (r *fixRun) loadRecord(ctx context.Context) error {
	r.branch = BranchFor(r.req.Fingerprint)
	rec, err := r.cfg.Store.GetFixerSession(ctx, r.req.Fingerprint)
	switch {
	case errors.Is(err, store.ErrNotFound):
		now := time.Now().UTC()
		rec = &store.FixerSession{Fingerprint: r.req.Fingerprint, Repo: r.req.Repo, Branch: r.branch, Status: "starting", CreatedAt: now, UpdatedAt: now}
		if err := r.cfg.Store.PutFixerSession(ctx, *rec); err != nil {
			return fmt.Errorf("fixer: persist session record: %w", err)
		}
	case err != nil:
		return fmt.Errorf("fixer: read session record: %w", err)
	}
	if rec.Branch != "" {
		r.branch = rec.Branch
	}
	r.rec = rec
	r.res = &Result{Branch: r.branch, SessionID: rec.SessionID, FilesChanged: []string{}}
	return nil
}

// existingPR: a pull request for the branch (recorded, or pushed by a run that died before recording
// it) answers at once, unless a turn is still in flight: then the turn is followed to its end first.
func (r *fixRun) existingPR(ctx context.Context) (*Result, error) {
	pr, err := r.cfg.GitHub.FindPullRequest(ctx, r.req.Repo, r.branch)
	switch {
	case errors.Is(err, github.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("fixer: look up pull request for %s: %w", r.branch, err)
	case r.rec.Status == "running":
		return nil, nil
	}
	r.progress(fmt.Sprintf("pull request %s already exists for %s", pr.URL, r.branch))
	return r.finishPR(ctx, r.req, r.rec, r.res, pr, true)
}

// clone makes the working directory: a clone of the repository on the fix branch.
func (r *fixRun) clone(ctx context.Context) (*Result, error) {
	r.dir = CloneDirFor(r.cfg.WorkDir, r.req.Repo, r.req.Fingerprint)
	if err := r.ensureClone(ctx, r.req, r.dir, r.branch, r.progress); err != nil {
		r.step(ctx, r.rec, "clone", false, err.Error())
		return r.failed(ctx, r.rec, r.res, err.Error())
	}
	return nil, nil
}

// openSession reuses the recorded session unless the server lost it, gives up after MaxAttempts
// failed prompts, and otherwise creates a session.
func (r *fixRun) openSession(ctx context.Context) (*Result, error) {
	rec := r.rec
	if rec.SessionID != "" {
		if _, err := r.cfg.OpenCode.GetSession(ctx, r.dir, rec.SessionID); err == nil {
			r.resuming = rec.Status == "running"
		} else if errors.Is(err, opencode.ErrNotFound) {
			r.progress("recorded OpenCode session " + rec.SessionID + " no longer exists; starting a new one")
			r.step(ctx, rec, "session-lost", false, rec.SessionID)
			rec.SessionID, rec.Status = "", "starting"
		} else {
			return nil, fmt.Errorf("fixer: %w", err)
		}
	}
	r.attempts = countSteps(rec, "prompt")
	if !r.resuming && r.attempts >= r.cfg.MaxAttempts && (rec.Status == StatusFailed || rec.Status == StatusNoPR) {
		r.res.Status, r.res.SessionID = rec.Status, rec.SessionID
		r.res.Error = fmt.Sprintf("gave up after %d attempts; last: %s", r.attempts, lastStepOutput(rec))
		r.res.Reused = true
		return r.res, nil
	}
	if rec.SessionID == "" {
		title := firstNonEmpty(r.req.Title, "fixloop fix "+short(r.req.Fingerprint))
		s, err := r.cfg.OpenCode.CreateSession(ctx, r.dir, title)
		if err != nil {
			return nil, fmt.Errorf("fixer: %w", err)
		}
		rec.SessionID, rec.Status = s.ID, "session"
		if err := r.put(ctx, rec); err != nil {
			return nil, err
		}
		r.step(ctx, rec, "session", true, s.ID)
		r.progress("created OpenCode session " + s.ID + " in " + r.dir)
	}
	r.res.SessionID = rec.SessionID
	return nil, nil
}

// turn prompts (unless resuming a turn in flight) and follows the events until the turn ends.
func (r *fixRun) turn(ctx context.Context) (*Result, error) {
	w, err := opencode.Watch(ctx, r.cfg.OpenCode, r.dir, r.rec.SessionID)
	if err != nil {
		return nil, fmt.Errorf("fixer: %w", err)
	}
	defer w.Close()
	deadline := time.Now().Add(r.cfg.Timeout)
	if r.resuming {
		if at, ok := lastStepAt(r.rec, "prompt"); ok {
			deadline = at.Add(r.cfg.Timeout)
		}
		r.progress("resuming OpenCode session " + r.rec.SessionID + " (fixloop restarted or the request was repeated)")
		r.res.Reused = true
	} else if res, err := r.prompt(ctx); res != nil || err != nil {
		return res, err
	}
	waitCtx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	rep := newReporter(r.dir, r.progress)
	wr, werr := w.Wait(waitCtx, opencode.WaitOptions{RetryLimit: r.cfg.RetryLimit, Resume: r.resuming, OnEvent: rep.event})
	r.res.FilesChanged = rep.files()
	return r.turnEnded(ctx, wr, werr)
}

// prompt hands the plan (and the previous attempt's outcome) to the session.
func (r *fixRun) prompt(ctx context.Context) (*Result, error) {
	previous := ""
	if r.attempts > 0 {
		previous = lastStepOutput(r.rec)
	}
	text := r.Fixer.prompt(r.req, r.branch, previous)
	if err := r.cfg.OpenCode.PromptAsync(ctx, r.dir, r.rec.SessionID, opencode.Prompt{
		Text: text, ProviderID: r.cfg.ProviderID, ModelID: r.cfg.ModelID}); err != nil {
		r.step(ctx, r.rec, "prompt", false, err.Error())
		return r.failed(ctx, r.rec, r.res, err.Error())
	}
	r.rec.Status = "running"
	r.step(ctx, r.rec, "prompt", true, fmt.Sprintf("attempt %d", r.attempts+1))
	r.progress(fmt.Sprintf("handed the plan to OpenCode (attempt %d, timeout %s)", r.attempts+1, r.cfg.Timeout))
	return nil, nil
}

// turnEnded turns how the wait ended into a failed result, an error (the caller went away: the
// session keeps running and a rerun resumes it) or nil to go on to delivery.
func (r *fixRun) turnEnded(ctx context.Context, wr opencode.WaitResult, werr error) (*Result, error) {
	rec := r.rec
	switch {
	case werr != nil && errors.Is(werr, context.DeadlineExceeded) && ctx.Err() == nil:
		msg := r.timedOut(ctx, wr)
		r.step(ctx, rec, "wait", false, msg)
		return r.failed(ctx, rec, r.res, msg)
	case werr != nil:
		return nil, fmt.Errorf("fixer: following session %s: %w", rec.SessionID, werr)
	case wr.Reason == opencode.WaitRetryLimit:
		r.abort(r.dir, rec.SessionID, r.progress)
		msg := fmt.Sprintf("the LLM call failed %d times in a row (%s); session aborted — check the model endpoint and its credentials", wr.LastRetry.Attempt, oneLine(wr.LastRetry.Message))
		r.step(ctx, rec, "wait", false, msg)
		return r.failed(ctx, rec, r.res, msg)
	case len(wr.Errors) > 0:
		msg := "OpenCode session failed: " + strings.Join(wr.Errors, "; ")
		if hint := errorHint(wr.Errors); hint != "" {
			msg += " — " + hint
		}
		r.step(ctx, rec, "wait", false, msg)
		r.collect(ctx, r.dir, rec.SessionID, r.res)
		return r.failed(ctx, rec, r.res, msg)
	}
	r.step(ctx, rec, "wait", true, "session idle")
	return nil, nil
}

// timedOut aborts a turn that outlived Timeout and says why, naming a failing LLM call if there is one.
func (r *fixRun) timedOut(ctx context.Context, wr opencode.WaitResult) string {
	msg := fmt.Sprintf("OpenCode session did not finish within %s", r.cfg.Timeout)
	if wr.LastRetry.Type != "retry" {
		// No retry event arrived in time (a slow first backoff): ask the server what it is doing now.
		if st, err := r.cfg.OpenCode.Status(ctx, r.dir); err == nil && st[r.rec.SessionID].Type == "retry" {
			wr.LastRetry = st[r.rec.SessionID]
		}
	}
	if wr.LastRetry.Type == "retry" {
		msg += fmt.Sprintf("; the LLM call was failing (retry %d: %s)", wr.LastRetry.Attempt, oneLine(wr.LastRetry.Message))
	}
	r.abort(r.dir, r.rec.SessionID, r.progress)
	return msg + "; session aborted"
}

// deliverAndVerify collects what the agent said and did, pushes its commits and opens the pull
// request, then verifies both through the GitHub API.
func (r *fixRun) deliverAndVerify(ctx context.Context) (*Result, error) {
	req, rec, res, branch := r.req, r.rec, r.res, r.branch
	r.collect(ctx, r.dir, rec.SessionID, res)
	why, err := r.deliver(ctx, req, rec, r.dir, branch, res.Summary)
	if err != nil {
		r.step(ctx, rec, "deliver", false, err.Error())
		return r.failed(ctx, rec, res, err.Error())
	}
	if why != "" {
		return r.noPR(ctx, rec, res, why)
	}
	if _, err := r.cfg.GitHub.GetBranch(ctx, req.Repo, branch); err != nil {
		if !errors.Is(err, github.ErrNotFound) {
			return nil, fmt.Errorf("fixer: verify branch %s: %w", branch, err)
		}
		return r.noPR(ctx, rec, res, fmt.Sprintf("branch %s was not pushed to %s", branch, req.Repo))
	}
	pr, err := r.cfg.GitHub.FindPullRequest(ctx, req.Repo, branch)
	if errors.Is(err, github.ErrNotFound) {
		return r.noPR(ctx, rec, res, fmt.Sprintf("branch %s exists but no pull request was opened for it", branch))
	}
	if err != nil {
		return nil, fmt.Errorf("fixer: verify pull request for %s: %w", branch, err)
	}
	r.progress(fmt.Sprintf("verified pull request %s (branch %s)", pr.URL, branch))
	return r.finishPR(ctx, req, rec, res, pr, false)
}

// finishPR records the PR, links it from the issue once, and returns pr_open.
func (f *Fixer) finishPR(ctx context.Context, req Request, rec *store.FixerSession, res *Result, pr *github.PullRequest, reused bool) (*Result, error) {
	rec.PRNumber, rec.PRURL, rec.Status = pr.Number, pr.URL, StatusPROpen
	if err := f.put(ctx, rec); err != nil {
		return nil, err
	}
	if req.Issue > 0 && countSteps(rec, "issue-comment") == 0 {
		body := fmt.Sprintf("fixloop's fixer opened %s for this issue (branch `%s`, OpenCode session `%s`).", pr.URL, rec.Branch, rec.SessionID)
		if err := f.cfg.GitHub.CommentIssue(ctx, req.Repo, req.Issue, body); err != nil {
			f.log.Warn("could not comment on the issue", "issue", req.Issue, "err", err)
			f.step(ctx, rec, "issue-comment-failed", false, err.Error())
		} else {
			f.step(ctx, rec, "issue-comment", true, fmt.Sprintf("#%d", req.Issue))
		}
	}
	f.prOpened(ctx, req, pr)
	res.Status, res.PRURL, res.PRNumber, res.SessionID = StatusPROpen, pr.URL, pr.Number, rec.SessionID
	res.Reused = res.Reused || reused
	if res.Summary == "" {
		res.Summary = fmt.Sprintf("pull request #%d: %s", pr.Number, pr.Title)
	}
	return res, nil
}

func (f *Fixer) noPR(ctx context.Context, rec *store.FixerSession, res *Result, why string) (*Result, error) {
	rec.Status = StatusNoPR
	f.step(ctx, rec, "verify", false, why)
	res.Status, res.Error = StatusNoPR, why+" (the agent's last messages are attached)"
	return res, nil
}

func (f *Fixer) failed(ctx context.Context, rec *store.FixerSession, res *Result, why string) (*Result, error) {
	rec.Status = StatusFailed
	_ = f.put(ctx, rec)
	res.Status, res.Error, res.SessionID = StatusFailed, f.cfg.Redactor.String(why), rec.SessionID
	return res, nil
}

// abort stops a session on a fresh context: the caller's may be the one that expired.
func (f *Fixer) abort(dir, id string, progress Progress) {
	// On a loaded machine OpenCode took over 30 s to answer an abort, and a failed abort leaves the
	// session retrying forever: allow as long as any other OpenCode call (the client's 60 s bound).
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := f.cfg.OpenCode.Abort(ctx, dir, id); err != nil {
		progress("could not abort session " + id + ": " + err.Error())
		return
	}
	progress("aborted OpenCode session " + id)
}

// collect fills summary, changed files and the last messages from the session.
func (f *Fixer) collect(ctx context.Context, dir, id string, res *Result) {
	msgs, err := f.cfg.OpenCode.Messages(ctx, dir, id)
	if err != nil {
		res.LastMessages = append(res.LastMessages, "(could not read the session's messages: "+err.Error()+")")
		return
	}
	seen := map[string]bool{}
	for _, p := range res.FilesChanged {
		seen[p] = true
	}
	var texts []string
	for _, m := range msgs {
		if m.Role != "assistant" {
			continue
		}
		for _, p := range m.Parts {
			for _, file := range p.Files {
				rel := relTo(dir, file)
				if !seen[rel] {
					seen[rel] = true
					res.FilesChanged = append(res.FilesChanged, rel)
				}
			}
		}
		if t := strings.TrimSpace(m.Text()); t != "" {
			texts = append(texts, t)
		}
		if m.Error != "" {
			texts = append(texts, "error: "+m.Error)
		}
	}
	if len(texts) > 0 {
		res.Summary = f.cfg.Redactor.String(texts[len(texts)-1])
	}
	if len(texts) > 3 {
		texts = texts[len(texts)-3:]
	}
	res.LastMessages = f.cfg.Redactor.Strings(texts)
}
