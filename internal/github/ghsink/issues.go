package ghsink

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v66/github"
)

// label is a copy of the repository's label name, created on first use as GitHub does.
func (s *Server) label(repo *Repo, name string) *gh.Label {
	key := strings.ToLower(name)
	l := repo.Labels[key]
	if l == nil {
		l = &gh.Label{ID: ptr(s.id()), Name: ptr(name), Color: ptr("ededed")}
		repo.Labels[key] = l
	}
	c := *l
	return &c
}

func (s *Server) listIssues(w http.ResponseWriter, r *http.Request, repoName string) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var want []string
	for _, l := range strings.Split(q.Get("labels"), ",") {
		if l = strings.TrimSpace(l); l != "" {
			want = append(want, strings.ToLower(l))
		}
	}
	repo := s.repo(repoName)
	var out []*gh.Issue
	for _, is := range repo.Issues {
		if state != "all" && is.GetState() != state {
			continue
		}
		if !hasAll(is.Labels, want) {
			continue
		}
		out = append(out, is)
	}
	desc := q.Get("direction") != "asc"
	by := q.Get("sort")
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		at, bt := a.GetCreatedAt().Time, b.GetCreatedAt().Time
		if by == "updated" {
			at, bt = a.GetUpdatedAt().Time, b.GetUpdatedAt().Time
		}
		less := at.Before(bt) || at.Equal(bt) && a.GetNumber() < b.GetNumber()
		if desc {
			return !less
		}
		return less
	})
	out = paginate(w, r, out)
	if out == nil {
		out = []*gh.Issue{}
	}
	writeJSON(w, 200, out)
}

func paginate[T any](w http.ResponseWriter, r *http.Request, items []T) []T {
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if per <= 0 || per > 100 {
		per = 30
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page <= 0 {
		page = 1
	}
	start := (page - 1) * per
	if start >= len(items) {
		return nil
	}
	end := min(start+per, len(items))
	if end < len(items) {
		u := *r.URL
		q := u.Query()
		q.Set("page", strconv.Itoa(page+1))
		u.RawQuery = q.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<http://%s%s>; rel="next"`, r.Host, u.RequestURI()))
	}
	return items[start:end]
}

func hasAll(labels []*gh.Label, want []string) bool {
	for _, w := range want {
		found := false
		for _, l := range labels {
			if strings.ToLower(l.GetName()) == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

type issueInput struct {
	Title       *string   `json:"title"`
	Body        *string   `json:"body"`
	State       *string   `json:"state"`
	StateReason *string   `json:"state_reason"`
	Labels      *[]string `json:"labels"`
	Assignees   *[]string `json:"assignees"`
}

func (s *Server) createIssue(w http.ResponseWriter, repoName string, body []byte) {
	var in issueInput
	if err := json.Unmarshal(body, &in); err != nil || in.Title == nil || strings.TrimSpace(*in.Title) == "" {
		apiError(w, http.StatusUnprocessableEntity, "Validation Failed: title is required")
		return
	}
	if in.Body != nil && len(*in.Body) > 65536 {
		apiError(w, http.StatusUnprocessableEntity, "Validation Failed: body is too long (maximum is 65536 characters)")
		return
	}
	repo := s.repo(repoName)
	repo.Next++
	now := s.now().UTC()
	creator := bot
	is := &gh.Issue{ID: ptr(s.id()), Number: ptr(repo.Next), State: ptr("open"), User: &creator, Comments: ptr(0),
		CreatedAt: ts(now), UpdatedAt: ts(now), Labels: []*gh.Label{}, Assignees: []*gh.User{}}
	s.applyIssue(repo, is, in)
	s.setURLs(repoName, is)
	repo.Issues[repo.Next] = is
	s.saveLocked()
	writeJSON(w, http.StatusCreated, is)
}

func (s *Server) setURLs(repoName string, is *gh.Issue) {
	is.URL = ptr(fmt.Sprintf("%s/repos/%s/issues/%d", s.baseURL, repoName, is.GetNumber()))
	is.HTMLURL = ptr(fmt.Sprintf("%s/%s/issues/%d", s.baseURL, repoName, is.GetNumber()))
	is.RepositoryURL = ptr(fmt.Sprintf("%s/repos/%s", s.baseURL, repoName))
}

func (s *Server) applyIssue(repo *Repo, is *gh.Issue, in issueInput) {
	if in.Title != nil {
		is.Title = ptr(*in.Title)
	}
	if in.Body != nil {
		is.Body = ptr(*in.Body)
	}
	if in.Labels != nil {
		is.Labels = []*gh.Label{}
		for _, l := range *in.Labels {
			is.Labels = append(is.Labels, s.label(repo, l))
		}
	}
	if in.Assignees != nil {
		is.Assignees = []*gh.User{}
		for _, a := range *in.Assignees {
			is.Assignees = append(is.Assignees, newUser(a, s.id(), "User"))
		}
	}
	if in.State != nil && (*in.State == "open" || *in.State == "closed") && *in.State != is.GetState() {
		is.State = ptr(*in.State)
		if *in.State == "closed" {
			is.ClosedAt = ts(s.now().UTC())
		} else {
			is.ClosedAt = nil
			is.StateReason = ptr("reopened")
		}
	}
	if in.StateReason != nil {
		is.StateReason = ptr(*in.StateReason)
	}
}

func (s *Server) editIssue(w http.ResponseWriter, r *http.Request, repo *Repo, is *gh.Issue) {
	var in issueInput
	if err := json.Unmarshal(body(r), &in); err != nil {
		apiError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	s.applyIssue(repo, is, in)
	is.UpdatedAt = ts(s.now().UTC())
	s.saveLocked()
	writeJSON(w, 200, is)
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request, repo *Repo, is *gh.Issue) {
	cs := paginate(w, r, repo.Comments[is.GetNumber()])
	if cs == nil {
		cs = []*gh.IssueComment{}
	}
	writeJSON(w, 200, cs)
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request, repo *Repo, is *gh.Issue) {
	var in struct {
		Body string `json:"body"`
	}
	if err := json.Unmarshal(body(r), &in); err != nil || strings.TrimSpace(in.Body) == "" {
		apiError(w, http.StatusUnprocessableEntity, "Validation Failed: body is required")
		return
	}
	now := s.now().UTC()
	author := userOf(r)
	id := s.id()
	c := &gh.IssueComment{ID: ptr(id), Body: ptr(in.Body), User: &author, CreatedAt: ts(now), UpdatedAt: ts(now),
		IssueURL: ptr(is.GetURL()), HTMLURL: ptr(fmt.Sprintf("%s#issuecomment-%d", is.GetHTMLURL(), id))}
	n := is.GetNumber()
	repo.Comments[n] = append(repo.Comments[n], c)
	is.Comments = ptr(len(repo.Comments[n]))
	is.UpdatedAt = ts(now)
	s.saveLocked()
	writeJSON(w, http.StatusCreated, c)
}

// addLabels takes a JSON array of names or {"labels": [...]}, as GitHub does.
func (s *Server) addLabels(w http.ResponseWriter, r *http.Request, repo *Repo, is *gh.Issue) {
	b := body(r)
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		var obj struct {
			Labels []string `json:"labels"`
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			apiError(w, http.StatusBadRequest, "Problems parsing JSON")
			return
		}
		names = obj.Labels
	}
	for _, nm := range names {
		if !hasAll(is.Labels, []string{strings.ToLower(nm)}) {
			is.Labels = append(is.Labels, s.label(repo, nm))
		}
	}
	is.UpdatedAt = ts(s.now().UTC())
	s.saveLocked()
	writeJSON(w, 200, is.Labels)
}
