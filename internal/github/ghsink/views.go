package ghsink

import (
	"sort"
	"time"

	gh "github.com/google/go-github/v66/github"
)

// Issues returns a copy of the issues of repo (owner/name) sorted by number.
func (s *Server) Issues(repo string) []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.state.Repos[repo]
	if r == nil {
		return nil
	}
	var out []Issue
	for _, is := range r.Issues {
		out = append(out, issueView(repo, is))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

// Comments returns a copy of an issue's comments.
func (s *Server) Comments(repo string, number int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.state.Repos[repo]
	if r == nil {
		return nil
	}
	var out []Comment
	for _, c := range r.Comments[number] {
		out = append(out, Comment{ID: c.GetID(), Body: c.GetBody(), User: userView(c.User), CreatedAt: c.GetCreatedAt().Time,
			UpdatedAt: c.GetUpdatedAt().Time, HTMLURL: c.GetHTMLURL(), IssueURL: c.GetIssueURL()})
	}
	return out
}

// Pulls returns a copy of the pull requests of repo sorted by number.
func (s *Server) Pulls(repo string) []Pull {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.state.Repos[repo]
	if r == nil {
		return nil
	}
	var out []Pull
	for _, p := range r.Pulls {
		out = append(out, Pull{ID: p.GetID(), Number: p.GetNumber(), Title: p.GetTitle(), Body: p.GetBody(), State: p.GetState(),
			Draft: p.GetDraft(), Merged: p.GetMerged(), MergedAt: timePtr(p.MergedAt), Head: refView(p.Head), Base: refView(p.Base),
			User: userView(p.User), CreatedAt: p.GetCreatedAt().Time, UpdatedAt: p.GetUpdatedAt().Time, URL: p.GetURL(), HTMLURL: p.GetHTMLURL()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

func issueView(repo string, is *gh.Issue) Issue {
	v := Issue{ID: is.GetID(), Number: is.GetNumber(), Title: is.GetTitle(), Body: is.GetBody(), State: is.GetState(),
		StateReason: is.GetStateReason(), User: userView(is.User), Comments: is.GetComments(), CreatedAt: is.GetCreatedAt().Time,
		UpdatedAt: is.GetUpdatedAt().Time, ClosedAt: timePtr(is.ClosedAt), URL: is.GetURL(), HTMLURL: is.GetHTMLURL(), Repo: repo,
		Labels: []Label{}, Assignees: []User{}}
	for _, l := range is.Labels {
		v.Labels = append(v.Labels, Label{ID: l.GetID(), Name: l.GetName(), Color: l.GetColor()})
	}
	for _, u := range is.Assignees {
		v.Assignees = append(v.Assignees, userView(u))
	}
	return v
}

func userView(u *gh.User) User { return User{Login: u.GetLogin(), ID: u.GetID(), Type: u.GetType()} }

func refView(b *gh.PullRequestBranch) Ref {
	return Ref{Ref: b.GetRef(), SHA: b.GetSHA(), Label: b.GetLabel()}
}

func timePtr(t *gh.Timestamp) *time.Time {
	if t == nil {
		return nil
	}
	v := t.Time
	return &v
}

// ts is a go-github timestamp of t.
func ts(t time.Time) *gh.Timestamp { return &gh.Timestamp{Time: t} }

// ptr is go-github's optional field of v (v66 has per-type helpers only).
func ptr[T any](v T) *T { return &v }
