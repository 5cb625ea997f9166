package github

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	gh "github.com/google/go-github/v66/github"
)

const (
	// LabelPrefix + hash is the fingerprint label; GitHub labels are at most 50 characters.
	LabelPrefix = "fixloop:fp-"
	// LabelFixloop marks every issue fixloop opens.
	LabelFixloop = "fixloop"
	markerPrefix = "<!-- fixloop:fingerprint="
	maxBody      = 60000 // GitHub rejects bodies over 65536 characters
	maxTitle     = 99
	maxExamples  = 3
	maxExample   = 1500
)

// IssueRequest is one detected failure occurrence.
type IssueRequest struct {
	Repo           string // owner/name or repository URL
	Fingerprint    string // stable id of the failure (judge verdict fingerprint)
	Title          string // short; "[fixloop] " is prefixed and the result kept under 100 characters
	Summary        string
	RootCause      string
	Remediation    string
	Verdict        string // promote|abort|inconclusive
	Confidence     int
	Evidence       []EvidenceRow
	LogExamples    []string // raw log records; redacted and fenced
	Namespace      string
	Rollout        string
	Revision       string // canary pod-template hash (or image/revision)
	StableRevision string
	Labels         []string // in addition to Config.Labels
	Assignees      []string // in addition to Config.Assignees
	OccurredAt     time.Time
	// OccurrenceID makes a repeated delivery of the same occurrence (a retry after a crash) idempotent:
	// when a comment carrying it already exists no second comment is added. Defaults to a hash of
	// fingerprint+rollout+revision+time.
	OccurrenceID string
	Links        map[string]string // extra links rendered under the summary (e.g. "Analysis run": url)
	// Report is the verdict's page (fixloop serve /reports/{id}): charts and the template diff.
	Report string
}

// EvidenceRow is one line of the evidence table.
type EvidenceRow struct {
	Kind   string `json:"kind"`   // log|metric|event
	Signal string `json:"signal"` // template pattern or metric name
	Stable string `json:"stable"`
	Canary string `json:"canary"`
	Note   string `json:"note,omitempty"`
}

// IssueResult says what EnsureIssue did.
type IssueResult struct {
	Repo        string `json:"repo"`
	Number      int    `json:"number"`
	URL         string `json:"url"`
	Fingerprint string `json:"fingerprint"`
	Label       string `json:"label"`
	Created     bool   `json:"created"`   // a new issue was opened
	Commented   bool   `json:"commented"` // an occurrence comment was added to the existing issue
	Reopened    bool   `json:"reopened"`  // a closed issue for this fingerprint was reopened
}

var safeFP = regexp.MustCompile(`^[a-z0-9]{1,32}$`)

// FingerprintLabel returns the label that identifies a fingerprint's issue.
func FingerprintLabel(fp string) string {
	fp = strings.ToLower(strings.TrimSpace(fp))
	if !safeFP.MatchString(fp) {
		sum := sha256.Sum256([]byte(fp))
		fp = hex.EncodeToString(sum[:8])
	}
	return LabelPrefix + fp
}

func marker(fp string) string { return markerPrefix + FingerprintLabel(fp)[len(LabelPrefix):] + " -->" }

func occurrenceMarker(id string) string { return "<!-- fixloop:occurrence=" + id + " -->" }

// EnsureIssue keeps exactly one open issue per fingerprint:
//   - an open issue labelled fixloop:fp-<hash> exists → a comment with the new occurrence (time,
//     rollout, canary revision, verdict) is added;
//   - only a closed one exists → the failure came back after someone closed it: the most recently
//     updated closed issue is reopened with an occurrence comment saying so (history stays in one place;
//     a new issue would split it);
//   - none → a new issue is created with the fingerprint label, the fixloop label, the configured labels
//     and assignees, and a hidden marker in the body.
//
// Lookups use Issues.ListByRepo with the label filter (not search, which lags). A create that fails with a
// 5xx is re-checked by label before retrying, so a retry never duplicates. Concurrent calls in this
// process for the same fingerprint are serialised.
func (g *GitHub) EnsureIssue(ctx context.Context, req IssueRequest) (*IssueResult, error) {
	res, err := g.ensureIssue(ctx, req)
	if err == nil {
		countIssue(res)
	}
	return res, err
}

func (g *GitHub) ensureIssue(ctx context.Context, req IssueRequest) (*IssueResult, error) {
	if strings.TrimSpace(req.Fingerprint) == "" {
		return nil, errors.New("github: EnsureIssue needs a failure fingerprint")
	}
	owner, name, err := ParseRepo(req.Repo)
	if err != nil {
		return nil, err
	}
	if req.OccurredAt.IsZero() {
		req.OccurredAt = g.cfg.Now().UTC()
	}
	if req.OccurrenceID == "" {
		sum := sha256.Sum256([]byte(strings.Join([]string{req.Fingerprint, req.Namespace, req.Rollout, req.Revision, req.OccurredAt.UTC().Format(time.RFC3339)}, "|")))
		req.OccurrenceID = hex.EncodeToString(sum[:8])
	}
	label := FingerprintLabel(req.Fingerprint)
	defer g.lock(owner + "/" + name + "#" + label)()
	res := &IssueResult{Repo: owner + "/" + name, Fingerprint: req.Fingerprint, Label: label}

	open, err := g.findByLabel(ctx, owner, name, label, "open")
	if err != nil {
		return nil, err
	}
	if open != nil {
		res.Number, res.URL = open.GetNumber(), open.GetHTMLURL()
		if strings.Contains(open.GetBody(), occurrenceMarker(req.OccurrenceID)) {
			return res, nil // this very occurrence opened the issue (a retried or resumed run)
		}
		added, err := g.addOccurrence(ctx, owner, name, open.GetNumber(), req, false)
		res.Commented = added
		return res, err
	}
	closed, err := g.findByLabel(ctx, owner, name, label, "closed")
	if err != nil {
		return nil, err
	}
	if closed != nil {
		res.Number, res.URL = closed.GetNumber(), closed.GetHTMLURL()
		err := g.call(ctx, fmt.Sprintf("reopen #%d", closed.GetNumber()), func() (r *gh.Response, err error) {
			_, r, err = g.c.Issues.Edit(ctx, owner, name, closed.GetNumber(), &gh.IssueRequest{State: gh.String("open")})
			return r, err
		})
		if err != nil {
			return nil, err
		}
		res.Reopened = true
		added, err := g.addOccurrence(ctx, owner, name, closed.GetNumber(), req, true)
		res.Commented = added
		return res, err
	}

	issue, err := g.create(ctx, owner, name, label, req)
	if err != nil {
		return nil, err
	}
	res.Number, res.URL, res.Created = issue.GetNumber(), issue.GetHTMLURL(), true
	return res, nil
}

// findByLabel returns the issue with label in state (lowest number when several exist, e.g. created by
// hand), checking the hidden marker when labels are shared.
func (g *GitHub) findByLabel(ctx context.Context, owner, name, label, state string) (*gh.Issue, error) {
	var issues []*gh.Issue
	opts := &gh.IssueListByRepoOptions{Labels: []string{label}, State: state, Sort: "updated", Direction: "desc", ListOptions: gh.ListOptions{PerPage: 50}}
	err := g.call(ctx, fmt.Sprintf("list %s issues labelled %s in %s/%s", state, label, owner, name), func() (r *gh.Response, err error) {
		issues, r, err = g.c.Issues.ListByRepo(ctx, owner, name, opts)
		return r, err
	})
	if err != nil {
		return nil, err
	}
	var found []*gh.Issue
	for _, is := range issues {
		if is.IsPullRequest() || !hasLabel(is, label) {
			continue
		}
		found = append(found, is)
	}
	if len(found) == 0 {
		return nil, nil
	}
	if state == "open" {
		sort.Slice(found, func(i, j int) bool { return found[i].GetNumber() < found[j].GetNumber() })
	}
	return found[0], nil
}

func hasLabel(is *gh.Issue, label string) bool {
	for _, l := range is.Labels {
		if strings.EqualFold(l.GetName(), label) {
			return true
		}
	}
	return false
}

func (g *GitHub) create(ctx context.Context, owner, name, label string, req IssueRequest) (*gh.Issue, error) {
	labels := dedupe(append(append([]string{LabelFixloop, label}, g.cfg.Labels...), req.Labels...))
	assignees := dedupe(append(append([]string{}, g.cfg.Assignees...), req.Assignees...))
	ir := &gh.IssueRequest{
		Title:  gh.String(g.title(req)),
		Body:   gh.String(truncateRunes(g.clean(g.renderBody(req)), maxBody)),
		Labels: &labels,
	}
	if len(assignees) > 0 {
		ir.Assignees = &assignees
	}
	op := fmt.Sprintf("create issue in %s/%s", owner, name)
	for attempt := 0; ; attempt++ {
		issue, resp, err := g.c.Issues.Create(ctx, owner, name, ir)
		if err == nil {
			return issue, nil
		}
		wait, ok := g.retryable(err, resp, attempt)
		if !ok {
			return nil, describe(op, err)
		}
		if attempt >= g.cfg.MaxRetries {
			return nil, fmt.Errorf("github: %s: gave up after %d attempts: %w", op, attempt+1, err)
		}
		if wait > g.cfg.MaxRetryWait {
			return nil, fmt.Errorf("github: %s: rate limited for %s more (over the %s wait cap): %w", op, wait.Round(time.Second), g.cfg.MaxRetryWait, err)
		}
		g.log.Warn("github create issue failed, retrying", "attempt", attempt+1, "wait", wait, "err", err)
		if !sleepCtx(ctx, wait) {
			return nil, fmt.Errorf("github: %s: %w (last error: %v)", op, ctx.Err(), err)
		}
		// The failed request may have created the issue (a 5xx after the write): look before retrying.
		if existing, ferr := g.findByLabel(ctx, owner, name, label, "open"); ferr == nil && existing != nil {
			return existing, nil
		}
	}
}

// addOccurrence comments the new occurrence unless a comment with the same occurrence id exists.
func (g *GitHub) addOccurrence(ctx context.Context, owner, name string, number int, req IssueRequest, reopened bool) (bool, error) {
	mk := occurrenceMarker(req.OccurrenceID)
	if exists, err := g.hasComment(ctx, owner, name, number, mk); err != nil {
		return false, err
	} else if exists {
		return false, nil
	}
	var b strings.Builder
	b.WriteString(mk + "\n")
	if reopened {
		b.WriteString("**Reopened by fixloop: this failure recurred after the issue was closed.**\n\n")
	}
	fmt.Fprintf(&b, "**New occurrence** at %s", req.OccurredAt.UTC().Format(time.RFC3339))
	if req.Rollout != "" {
		fmt.Fprintf(&b, " in rollout `%s`", qualified(req.Namespace, req.Rollout))
	}
	if req.Revision != "" {
		fmt.Fprintf(&b, ", canary revision `%s`", req.Revision)
	}
	if req.Verdict != "" {
		fmt.Fprintf(&b, " (verdict **%s**, confidence %d)", req.Verdict, req.Confidence)
	}
	b.WriteString(".")
	if req.Report != "" {
		b.WriteString(" Report: " + reportLink(req.Report))
	}
	b.WriteString("\n")
	if s := strings.TrimSpace(req.Summary); s != "" {
		b.WriteString("\n" + s + "\n")
	}
	if len(req.LogExamples) > 0 {
		b.WriteString("\n" + fenced(truncateRunes(req.LogExamples[0], maxExample)))
	}
	body := b.String()
	op := fmt.Sprintf("comment occurrence on #%d", number)
	for attempt := 0; ; attempt++ {
		_, resp, err := g.c.Issues.CreateComment(ctx, owner, name, number, &gh.IssueComment{Body: gh.String(truncateRunes(g.clean(body), maxBody))})
		if err == nil {
			return true, nil
		}
		wait, ok := g.retryable(err, resp, attempt)
		if !ok || attempt >= g.cfg.MaxRetries || wait > g.cfg.MaxRetryWait {
			return false, describe(op, err)
		}
		if !sleepCtx(ctx, wait) {
			return false, fmt.Errorf("github: %s: %w", op, ctx.Err())
		}
		if exists, ferr := g.hasComment(ctx, owner, name, number, mk); ferr == nil && exists {
			return true, nil
		}
	}
}

func (g *GitHub) hasComment(ctx context.Context, owner, name string, number int, marker string) (bool, error) {
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for page := 0; page < 10; page++ {
		var cs []*gh.IssueComment
		var resp *gh.Response
		err := g.call(ctx, fmt.Sprintf("list comments of #%d", number), func() (r *gh.Response, err error) {
			cs, r, err = g.c.Issues.ListComments(ctx, owner, name, number, opts)
			resp = r
			return r, err
		})
		if err != nil {
			return false, err
		}
		for _, c := range cs {
			if strings.Contains(c.GetBody(), marker) {
				return true, nil
			}
		}
		if resp == nil || resp.NextPage == 0 {
			return false, nil
		}
		opts.Page = resp.NextPage
	}
	return false, nil
}

func (g *GitHub) title(req IssueRequest) string {
	t := strings.TrimSpace(req.Title)
	if t == "" {
		t = firstLine(req.RootCause)
	}
	if t == "" {
		t = "canary failure"
	}
	if req.Rollout != "" && !strings.Contains(t, req.Rollout) {
		t = req.Rollout + ": " + t
	}
	t = strings.Join(strings.Fields(g.clean(t)), " ")
	return truncateRunes("[fixloop] "+t, maxTitle)
}

func (g *GitHub) renderBody(req IssueRequest) string {
	var b strings.Builder
	b.WriteString(marker(req.Fingerprint) + "\n")
	b.WriteString(occurrenceMarker(req.OccurrenceID) + "\n")
	b.WriteString("## Summary\n\n")
	b.WriteString(orNone(req.Summary) + "\n\n")
	var facts []string
	if req.Rollout != "" {
		facts = append(facts, fmt.Sprintf("**Rollout:** `%s`", qualified(req.Namespace, req.Rollout)))
	}
	if req.Revision != "" {
		facts = append(facts, fmt.Sprintf("**Canary revision:** `%s`", req.Revision))
	}
	if req.StableRevision != "" {
		facts = append(facts, fmt.Sprintf("**Stable revision:** `%s`", req.StableRevision))
	}
	if req.Verdict != "" {
		facts = append(facts, fmt.Sprintf("**Verdict:** %s (confidence %d)", req.Verdict, req.Confidence))
	}
	facts = append(facts, fmt.Sprintf("**First seen:** %s", req.OccurredAt.UTC().Format(time.RFC3339)))
	b.WriteString(strings.Join(facts, " · ") + "\n\n")
	if req.Report != "" {
		b.WriteString("**Verdict report** (stable vs canary charts, log template diff): " + reportLink(req.Report) + "\n\n")
	}
	if len(req.Links) > 0 {
		keys := make([]string, 0, len(req.Links))
		for k := range req.Links {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "- %s: %s\n", k, req.Links[k])
		}
		b.WriteString("\n")
	}
	b.WriteString("## Root cause\n\n" + orNone(req.RootCause) + "\n\n")
	if len(req.Evidence) > 0 {
		b.WriteString("## Evidence\n\n| kind | signal | stable | canary | note |\n|---|---|---|---|---|\n")
		for _, e := range req.Evidence {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", cell(e.Kind), cell(e.Signal), cell(e.Stable), cell(e.Canary), cell(e.Note))
		}
		b.WriteString("\n")
	}
	if len(req.LogExamples) > 0 {
		b.WriteString("## Log examples (redacted)\n\n")
		for i, ex := range req.LogExamples {
			if i == maxExamples {
				break
			}
			b.WriteString(fenced(truncateRunes(ex, maxExample)) + "\n")
		}
	}
	b.WriteString("## Remediation\n\n" + orNone(req.Remediation) + "\n\n")
	b.WriteString("---\n<sub>Opened by fixloop. One issue per failure fingerprint (`" + FingerprintLabel(req.Fingerprint) +
		"`): recurrences are added as comments, and a closed issue is reopened if the failure comes back.</sub>\n")
	return b.String()
}

// reportLink links an absolute report URL; a root-relative one (serve without --public-url) is shown
// as code, since GitHub would resolve it against github.com.
func reportLink(u string) string {
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return "[" + u + "](" + strings.NewReplacer("(", "%28", ")", "%29", " ", "%20").Replace(u) + ")"
	}
	return "`" + strings.ReplaceAll(u, "`", "") + "` (on the fixloop server)"
}

func qualified(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

func orNone(s string) string {
	if s = strings.TrimSpace(s); s == "" {
		return "_not determined_"
	}
	return s
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// cell makes text safe inside a markdown table cell.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ReplaceAll(s, "|", `\|`)
	return truncateRunes(s, 200)
}

// fenced wraps text in a code fence longer than any backtick run inside it.
func fenced(s string) string {
	fence := "```"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	return fence + "text\n" + strings.TrimRight(s, "\n") + "\n" + fence + "\n"
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" || seen[strings.ToLower(s)] {
			continue
		}
		seen[strings.ToLower(s)] = true
		out = append(out, s)
	}
	return out
}
