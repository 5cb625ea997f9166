package github

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v66/github"

	"github.com/fixloop/fixloop/internal/fixstate"
)

// Hand-off states, in the order a coding agent moves through them (named and worded in fixstate).
const (
	HandoffHandingOff   = fixstate.HandingOff
	HandoffHandedOff    = fixstate.HandedOff
	HandoffAgentWorking = fixstate.AgentWorking
	HandoffPROpen       = fixstate.PROpen
	HandoffPRMerged     = fixstate.PRMerged
	HandoffPRClosed     = fixstate.PRClosed
)

// handoffMarker tags the comment fixloop writes for a mention hand-off, so it is never read back as the
// agent's own comment.
const handoffMarker = "<!-- fixloop:handoff -->"

// Handoff is how an issue is handed to a coding agent on GitHub.
type Handoff struct {
	Kind  string // label | assignee | mention
	Value string // the label, login or mention text (from configuration, never from a request)
}

// HandOff summons the coding agent on an issue: adds the label, assigns the login, or comments the
// mention. The caller applies it once per fingerprint.
func (g *GitHub) HandOff(ctx context.Context, repo string, number int, h Handoff) error {
	owner, name, err := ParseRepo(repo)
	if err != nil {
		return err
	}
	switch h.Kind {
	case "label":
		return g.call(ctx, fmt.Sprintf("label #%d %s", number, h.Value), func() (r *gh.Response, err error) {
			_, r, err = g.c.Issues.AddLabelsToIssue(ctx, owner, name, number, []string{h.Value})
			return r, err
		})
	case "assignee":
		return g.call(ctx, fmt.Sprintf("assign #%d to %s", number, h.Value), func() (r *gh.Response, err error) {
			_, r, err = g.c.Issues.AddAssignees(ctx, owner, name, number, []string{h.Value})
			return r, err
		})
	case "mention":
		// Labels and assignees are idempotent; a comment is not: a replica taking over a hand-off whose
		// first attempt died mid-call must not summon the agent twice.
		posted, err := g.mentioned(ctx, owner, name, number)
		if err != nil || posted {
			return err
		}
		return g.comment(ctx, owner, name, number, handoffMarker+"\n"+h.Value)
	}
	return fmt.Errorf("github: hand-off kind %q is not label, assignee or mention", h.Kind)
}

// mentioned reports whether fixloop's hand-off comment is on the issue. It reads the first 100
// comments: the hand-off follows the issue's filing, so its comment is among the first.
func (g *GitHub) mentioned(ctx context.Context, owner, name string, number int) (bool, error) {
	var comments []*gh.IssueComment
	err := g.call(ctx, fmt.Sprintf("list comments of #%d", number), func() (r *gh.Response, err error) {
		comments, r, err = g.c.Issues.ListComments(ctx, owner, name, number, &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}})
		return r, err
	})
	for _, c := range comments {
		if strings.HasPrefix(c.GetBody(), handoffMarker) {
			return true, nil
		}
	}
	return false, err
}

// Observation is what fixloop has seen of a handed-off issue through the API, and the ETags that let
// the next look cost no quota when nothing changed.
type Observation struct {
	State         string       `json:"state"`
	AgentComments int          `json:"agentComments"`
	LastComment   string       `json:"lastComment,omitempty"` // the agent's latest, shortened
	LastAuthor    string       `json:"lastAuthor,omitempty"`
	PR            *PullRequest `json:"pr,omitempty"`
	PRChecks      string       `json:"prChecks,omitempty"` // combined status of the PR head: success|pending|failure|error
	PRProblems    []string     `json:"prProblems,omitempty"`
	CommentsETag  string       `json:"commentsETag,omitempty"`
	PullsETag     string       `json:"pullsETag,omitempty"`
	NotModified   int          `json:"notModified"` // conditional requests answered 304 (for the rate-limit budget)
}

// Observe looks at the issue's comments and the repository's pull requests (conditional requests with
// the previous ETags) and returns the new observation. A PR counts only when its title or body
// references the issue; it is verified against baseBranch.
func (g *GitHub) Observe(ctx context.Context, repo string, issue int, baseBranch string, prev Observation) (Observation, error) {
	owner, name, err := ParseRepo(repo)
	if err != nil {
		return prev, err
	}
	obs := prev
	var comments []*gh.IssueComment
	path := fmt.Sprintf("repos/%s/%s/issues/%d/comments?per_page=100", owner, name, issue)
	changed, etag, err := g.conditionalGet(ctx, path, prev.CommentsETag, &comments)
	if err != nil {
		return prev, err
	}
	if changed {
		obs.CommentsETag = etag
		obs.readComments(comments)
	} else {
		obs.NotModified++
	}
	var pulls []*gh.PullRequest
	path = fmt.Sprintf("repos/%s/%s/pulls?state=all&sort=created&direction=desc&per_page=50", owner, name)
	changed, etag, err = g.conditionalGet(ctx, path, prev.PullsETag, &pulls)
	if err != nil {
		return prev, err
	}
	if changed {
		obs.PullsETag = etag
		if p := referencing(pulls, owner, name, issue); p != nil {
			obs.PR = toPR(p)
			obs.PRProblems = verifyPR(p, baseBranch, owner, name, issue)
			obs.PRChecks = g.checks(ctx, owner, name, p.GetHead().GetSHA())
		}
	} else {
		obs.NotModified++
	}
	obs.State = obs.state()
	return obs, nil
}

func (o *Observation) readComments(cs []*gh.IssueComment) {
	o.AgentComments = 0
	for _, c := range cs {
		if strings.Contains(c.GetBody(), "<!-- fixloop:") {
			continue // fixloop's own: occurrences and the mention
		}
		o.AgentComments++
		o.LastComment, o.LastAuthor = truncateRunes(strings.TrimSpace(c.GetBody()), 200), c.GetUser().GetLogin()
	}
}

func (o Observation) state() string {
	switch {
	case o.PR != nil && o.PR.Merged:
		return HandoffPRMerged
	case o.PR != nil && o.PR.State == "closed":
		return HandoffPRClosed
	case o.PR != nil:
		return HandoffPROpen
	case o.AgentComments > 0:
		return HandoffAgentWorking
	}
	return HandoffHandedOff
}

// conditionalGet GETs path with If-None-Match; changed is false on 304 (GitHub does not count those
// against the rate limit).
func (g *GitHub) conditionalGet(ctx context.Context, path, etag string, out any) (changed bool, newETag string, err error) {
	err = g.call(ctx, "GET "+path, func() (*gh.Response, error) {
		req, err := g.c.NewRequest(http.MethodGet, path, nil)
		if err != nil {
			return nil, err
		}
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := g.c.Client().Do(req.WithContext(ctx))
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		ghr := &gh.Response{Response: resp}
		if resp.StatusCode == http.StatusNotModified {
			changed, newETag = false, etag
			return ghr, nil
		}
		if err := gh.CheckResponse(resp); err != nil {
			return ghr, err
		}
		changed, newETag = true, resp.Header.Get("ETag")
		return ghr, json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(out)
	})
	return changed, newETag, err
}

// referencing returns the newest pull request whose title or body references the issue (#N, a closing
// keyword, or the issue URL); an open one is preferred.
func referencing(pulls []*gh.PullRequest, owner, name string, issue int) *gh.PullRequest {
	var best *gh.PullRequest
	for _, p := range pulls {
		if !References(p.GetTitle()+"\n"+p.GetBody(), owner, name, issue) {
			continue
		}
		if best == nil || p.GetState() == "open" && best.GetState() != "open" {
			best = p
		}
	}
	return best
}

var issueRef = regexp.MustCompile(`(?i)(?:^|[^\w/])(?:([\w.-]+/[\w.-]+))?#(\d+)\b`)

// References reports whether text refers to issue N of owner/name: "#N", "owner/name#N" or the
// issue's URL.
func References(text, owner, name string, n int) bool {
	num := strconv.Itoa(n)
	if strings.Contains(text, "/"+owner+"/"+name+"/issues/"+num) {
		rest := text[strings.Index(text, "/"+owner+"/"+name+"/issues/"+num)+len("/"+owner+"/"+name+"/issues/"+num):]
		if rest == "" || rest[0] < '0' || rest[0] > '9' {
			return true
		}
	}
	for _, m := range issueRef.FindAllStringSubmatch(text, -1) {
		if m[2] == num && (m[1] == "" || strings.EqualFold(m[1], owner+"/"+name)) {
			return true
		}
	}
	return false
}

// verifyPR checks a found pull request the way the built-in fixer's is checked; each problem is a
// sentence for the report.
func verifyPR(p *gh.PullRequest, baseBranch, owner, name string, issue int) []string {
	var problems []string
	if baseBranch != "" && p.GetBase().GetRef() != baseBranch {
		problems = append(problems, fmt.Sprintf("targets %s, not the configured base branch %s", p.GetBase().GetRef(), baseBranch))
	}
	if !References(p.GetTitle()+"\n"+p.GetBody(), owner, name, issue) {
		problems = append(problems, fmt.Sprintf("does not reference #%d", issue))
	}
	return problems
}

// checks is the combined commit status of sha ("" when it could not be read: nothing is claimed).
func (g *GitHub) checks(ctx context.Context, owner, name, sha string) string {
	if sha == "" {
		return ""
	}
	var st *gh.CombinedStatus
	err := g.call(ctx, "status of "+sha, func() (r *gh.Response, err error) {
		st, r, err = g.c.Repositories.GetCombinedStatus(ctx, owner, name, sha, nil)
		return r, err
	})
	if err != nil {
		return ""
	}
	return st.GetState()
}
