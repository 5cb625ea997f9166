// Package ghsink is a local GitHub-compatible REST server: the subset of the GitHub API fixloop uses
// (issues by label/state, create, get, edit, comments, labels; pulls by head, create, get; branches from
// a local bare git repository; git clone/fetch/push over smart HTTP at /<owner>/<name>.git). Tests run the production go-github client against it, with injectable
// rate-limit and 5xx faults, and `make demo` uses it as the issue sink (`fixloop github-sink`).
package ghsink

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is the sink. Create with New; it is an http.Handler.
type Server struct {
	mu          sync.Mutex
	state       state
	path        string            // JSON state file ("" = memory only)
	gitRepos    map[string]string // owner/name → bare repository path
	faults      []Fault
	requests    []Request
	mux         *http.ServeMux    // the REST routes (routes.go)
	token       string            // required bearer token ("" = any or none)
	users       map[string]string // extra accepted tokens → the login acting with them
	baseURL     string
	now         func() time.Time
	notModified int
}

type state struct {
	Repos  map[string]*Repo `json:"repos"`
	NextID int64            `json:"nextId"`
}

// Options configures a Server.
type Options struct {
	StateFile string            // persisted JSON; loaded when it exists
	GitRepos  map[string]string // owner/name → bare git repository for the branches API
	Token     string            // when set, requests must carry it (401 otherwise)
	BaseURL   string            // used for url/html_url fields; set by the caller once listening
	// Users are further accepted tokens and the login each acts as (a coding agent's account); a
	// request with no listed token acts as fixloop-bot.
	Users map[string]string
}

// New creates a sink, loading StateFile if it exists.
func New(o Options) (*Server, error) {
	s := &Server{path: o.StateFile, gitRepos: o.GitRepos, token: o.Token, users: o.Users, baseURL: strings.TrimRight(o.BaseURL, "/"), now: time.Now}
	s.state.Repos = map[string]*Repo{}
	if o.StateFile != "" {
		data, err := os.ReadFile(o.StateFile)
		switch {
		case err == nil:
			if err := json.Unmarshal(data, &s.state); err != nil {
				return nil, fmt.Errorf("ghsink: state file %s is not valid JSON: %w", o.StateFile, err)
			}
			if s.state.Repos == nil {
				s.state.Repos = map[string]*Repo{}
			}
		case os.IsNotExist(err):
		default:
			return nil, fmt.Errorf("ghsink: read state %s: %w", o.StateFile, err)
		}
	}
	if s.gitRepos == nil {
		s.gitRepos = map[string]string{}
	}
	s.mux = s.routes()
	return s, nil
}

// SetBaseURL sets the URL used in url/html_url fields.
func (s *Server) SetBaseURL(u string) {
	s.mu.Lock()
	s.baseURL = strings.TrimRight(u, "/")
	s.mu.Unlock()
}

// SetGitRepo maps owner/name to a bare git repository for the branches API.
func (s *Server) SetGitRepo(repo, path string) { s.mu.Lock(); s.gitRepos[repo] = path; s.mu.Unlock() }

// InjectFault queues a fault for the next matching request.
func (s *Server) InjectFault(f Fault) { s.mu.Lock(); s.faults = append(s.faults, f); s.mu.Unlock() }

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

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
		out = append(out, *is)
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
		out = append(out, *c)
	}
	return out
}

// Pulls returns a copy of the pull requests of repo.
func (s *Server) Pulls(repo string) []Pull {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.state.Repos[repo]
	if r == nil {
		return nil
	}
	var out []Pull
	for _, p := range r.Pulls {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

// RepoNames lists repositories that have state.
func (s *Server) RepoNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.state.Repos {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// CloseIssue closes an issue directly (tests: simulate a human closing it).
func (s *Server) CloseIssue(repo string, number int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.state.Repos[repo]; r != nil && r.Issues[number] != nil {
		t := s.now().UTC()
		r.Issues[number].State, r.Issues[number].ClosedAt = "closed", &t
		s.saveLocked()
	}
}

func (s *Server) repo(name string) *Repo {
	r := s.state.Repos[name]
	if r == nil {
		r = &Repo{Issues: map[int]*Issue{}, Comments: map[int][]*Comment{}, Pulls: map[int]*Pull{}, Labels: map[string]*Label{}}
		s.state.Repos[name] = r
	}
	return r
}

func (s *Server) id() int64 { s.state.NextID++; return s.state.NextID }

// saveLocked writes the state atomically (temp file + rename) so a reader never sees half a file.
func (s *Server) saveLocked() {
	if s.path == "" {
		return
	}
	data, err := json.MarshalIndent(&s.state, "", "  ")
	if err != nil {
		return
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err == nil {
		if err := os.Rename(tmp, s.path); err != nil {
			_ = os.Remove(tmp) // the previous state file stays whole
		}
	}
}

var bot = User{Login: "fixloop-bot", ID: 1, Type: "Bot"}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

// ServeHTTP implements the REST subset. Paths may carry GitHub Enterprise's /api/v3 prefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.serveGit(w, r) {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	path := strings.TrimPrefix(r.URL.Path, "/api/v3")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: path, Query: r.URL.RawQuery, Body: string(body), Auth: r.Header.Get("Authorization") != ""})
	w.Header().Set("X-RateLimit-Limit", "5000")
	w.Header().Set("X-RateLimit-Remaining", "4999")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(s.now().Add(time.Hour).Unix(), 10))
	user, ok := s.caller(r.Header.Get("Authorization"))
	if !ok {
		apiError(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	if path == "/" || path == "" {
		writeJSON(w, 200, map[string]string{"current_user_url": s.baseURL + "/user"})
		return
	}
	if f, ok := s.takeFault(r.Method, path); ok {
		if f.AfterWrite {
			s.route(discard{}, r, path, body)
		}
		s.writeFault(w, f)
		return
	}
	if r.Method == http.MethodGet {
		s.serveConditional(w, r, path, body, user)
		return
	}
	s.route(w, r.WithContext(withUser(r.Context(), user)), path, body)
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

func (s *Server) takeFault(method, path string) (Fault, bool) {
	for i, f := range s.faults {
		if (f.Method == "" || strings.EqualFold(f.Method, method)) && strings.Contains(path, f.Path) {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			return f, true
		}
	}
	return Fault{}, false
}

func (s *Server) writeFault(w http.ResponseWriter, f Fault) {
	reset := f.ResetAfter
	if reset == 0 {
		reset = time.Second
	}
	switch f.Kind {
	case "ratelimit":
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(s.now().Add(reset).Unix(), 10))
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "API rate limit exceeded for user ID 1.", "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"})
	case "secondary":
		w.Header().Set("Retry-After", strconv.Itoa(int((reset+time.Second-1)/time.Second)))
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "You have exceeded a secondary rate limit.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"})
	case "429":
		w.Header().Set("Retry-After", strconv.Itoa(int((reset+time.Second-1)/time.Second)))
		apiError(w, http.StatusTooManyRequests, "Too Many Requests")
	default:
		code, err := strconv.Atoi(f.Kind)
		if err != nil || code < 400 {
			code = http.StatusInternalServerError
		}
		apiError(w, code, "Server Error")
	}
}

func (s *Server) label(repo *Repo, name string) Label {
	key := strings.ToLower(name)
	if l := repo.Labels[key]; l != nil {
		return *l
	}
	l := &Label{ID: s.id(), Name: name, Color: "ededed"}
	repo.Labels[key] = l
	return *l
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
	var out []*Issue
	for _, is := range repo.Issues {
		if state != "all" && is.State != state {
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
		less := a.CreatedAt.Before(b.CreatedAt) || a.CreatedAt.Equal(b.CreatedAt) && a.Number < b.Number
		if by == "updated" {
			less = a.UpdatedAt.Before(b.UpdatedAt) || a.UpdatedAt.Equal(b.UpdatedAt) && a.Number < b.Number
		}
		if desc {
			return !less
		}
		return less
	})
	out = paginate(w, r, out)
	if out == nil {
		out = []*Issue{}
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

func hasAll(labels []Label, want []string) bool {
	for _, w := range want {
		found := false
		for _, l := range labels {
			if strings.ToLower(l.Name) == w {
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
	is := &Issue{ID: s.id(), Number: repo.Next, Title: *in.Title, State: "open", User: bot, CreatedAt: now, UpdatedAt: now, Repo: repoName,
		Labels: []Label{}, Assignees: []User{}}
	if in.Body != nil {
		is.Body = *in.Body
	}
	s.applyIssue(repo, is, in)
	s.setURLs(repoName, is)
	repo.Issues[is.Number] = is
	s.saveLocked()
	writeJSON(w, http.StatusCreated, is)
}

func (s *Server) setURLs(repoName string, is *Issue) {
	is.URL = fmt.Sprintf("%s/repos/%s/issues/%d", s.baseURL, repoName, is.Number)
	is.HTMLURL = fmt.Sprintf("%s/%s/issues/%d", s.baseURL, repoName, is.Number)
}

func (s *Server) applyIssue(repo *Repo, is *Issue, in issueInput) {
	if in.Title != nil {
		is.Title = *in.Title
	}
	if in.Body != nil {
		is.Body = *in.Body
	}
	if in.Labels != nil {
		is.Labels = []Label{}
		for _, l := range *in.Labels {
			is.Labels = append(is.Labels, s.label(repo, l))
		}
	}
	if in.Assignees != nil {
		is.Assignees = []User{}
		for _, a := range *in.Assignees {
			is.Assignees = append(is.Assignees, User{Login: a, ID: s.id(), Type: "User"})
		}
	}
	if in.State != nil && (*in.State == "open" || *in.State == "closed") && *in.State != is.State {
		is.State = *in.State
		if is.State == "closed" {
			t := s.now().UTC()
			is.ClosedAt = &t
		} else {
			is.ClosedAt = nil
			is.StateReason = "reopened"
		}
	}
	if in.StateReason != nil {
		is.StateReason = *in.StateReason
	}
}

func (s *Server) editIssue(w http.ResponseWriter, r *http.Request, repo *Repo, is *Issue) {
	var in issueInput
	if err := json.Unmarshal(body(r), &in); err != nil {
		apiError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	s.applyIssue(repo, is, in)
	is.UpdatedAt = s.now().UTC()
	s.saveLocked()
	writeJSON(w, 200, is)
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request, repo *Repo, is *Issue) {
	cs := paginate(w, r, repo.Comments[is.Number])
	if cs == nil {
		cs = []*Comment{}
	}
	writeJSON(w, 200, cs)
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request, repo *Repo, is *Issue) {
	var in struct {
		Body string `json:"body"`
	}
	if err := json.Unmarshal(body(r), &in); err != nil || strings.TrimSpace(in.Body) == "" {
		apiError(w, http.StatusUnprocessableEntity, "Validation Failed: body is required")
		return
	}
	now := s.now().UTC()
	c := &Comment{ID: s.id(), Body: in.Body, User: userOf(r), CreatedAt: now, UpdatedAt: now, IssueURL: is.URL}
	c.HTMLURL = fmt.Sprintf("%s#issuecomment-%d", is.HTMLURL, c.ID)
	n := is.Number
	repo.Comments[n] = append(repo.Comments[n], c)
	is.Comments = len(repo.Comments[n])
	is.UpdatedAt = now
	s.saveLocked()
	writeJSON(w, http.StatusCreated, c)
}

// addLabels takes a JSON array of names or {"labels": [...]}, as GitHub does.
func (s *Server) addLabels(w http.ResponseWriter, r *http.Request, repo *Repo, is *Issue) {
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
	is.UpdatedAt = s.now().UTC()
	s.saveLocked()
	writeJSON(w, 200, is.Labels)
}

func (s *Server) listPulls(w http.ResponseWriter, r *http.Request, repoName string) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	head := q.Get("head") // owner:branch
	if i := strings.IndexByte(head, ':'); i >= 0 {
		head = head[i+1:]
	}
	var out []*Pull
	for _, p := range s.repo(repoName).Pulls {
		if state != "all" && p.State != state {
			continue
		}
		if head != "" && p.Head.Ref != head {
			continue
		}
		if b := q.Get("base"); b != "" && p.Base.Ref != b {
			continue
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number > out[j].Number })
	out = paginate(w, r, out)
	if out == nil {
		out = []*Pull{}
	}
	writeJSON(w, 200, out)
}

func (s *Server) createPull(w http.ResponseWriter, repoName string, body []byte, user User) {
	var in struct {
		Title string `json:"title"`
		Head  string `json:"head"`
		Base  string `json:"base"`
		Body  string `json:"body"`
		Draft bool   `json:"draft"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Title == "" || in.Head == "" || in.Base == "" {
		apiError(w, http.StatusUnprocessableEntity, "Validation Failed: title, head and base are required")
		return
	}
	head := in.Head
	if i := strings.IndexByte(head, ':'); i >= 0 {
		head = head[i+1:]
	}
	repo := s.repo(repoName)
	for _, p := range repo.Pulls {
		if p.State == "open" && p.Head.Ref == head && p.Base.Ref == in.Base {
			apiError(w, http.StatusUnprocessableEntity, "Validation Failed: A pull request already exists for "+repoName+":"+head+".")
			return
		}
	}
	headSHA, baseSHA := "", ""
	if dir := s.gitRepos[repoName]; dir != "" {
		var err error
		if headSHA, err = revParse(dir, head); err != nil {
			apiError(w, http.StatusUnprocessableEntity, "Validation Failed: head branch "+head+" does not exist")
			return
		}
		if baseSHA, err = revParse(dir, in.Base); err != nil {
			apiError(w, http.StatusUnprocessableEntity, "Validation Failed: base branch "+in.Base+" does not exist")
			return
		}
	}
	repo.Next++
	now := s.now().UTC()
	owner := strings.Split(repoName, "/")[0]
	p := &Pull{ID: s.id(), Number: repo.Next, Title: in.Title, Body: in.Body, State: "open", Draft: in.Draft, User: user, CreatedAt: now, UpdatedAt: now,
		Head: Ref{Ref: head, SHA: headSHA, Label: owner + ":" + head}, Base: Ref{Ref: in.Base, SHA: baseSHA, Label: owner + ":" + in.Base}}
	p.URL = fmt.Sprintf("%s/repos/%s/pulls/%d", s.baseURL, repoName, p.Number)
	p.HTMLURL = fmt.Sprintf("%s/%s/pull/%d", s.baseURL, repoName, p.Number)
	repo.Pulls[p.Number] = p
	s.saveLocked()
	writeJSON(w, http.StatusCreated, p)
}

func (s *Server) branch(w http.ResponseWriter, repoName, name string) {
	dir := s.gitRepos[repoName]
	if dir == "" {
		apiError(w, http.StatusNotFound, "Not Found (no local git repository configured for "+repoName+")")
		return
	}
	sha, err := revParse(dir, name)
	if err != nil {
		apiError(w, http.StatusNotFound, "Branch not found")
		return
	}
	writeJSON(w, 200, map[string]any{
		"name":      name,
		"commit":    map[string]any{"sha": sha, "url": fmt.Sprintf("%s/repos/%s/commits/%s", s.baseURL, repoName, sha)},
		"protected": false,
	})
}

func revParse(dir, branch string) (string, error) {
	if strings.HasPrefix(branch, "-") || strings.Contains(branch, "..") {
		return "", fmt.Errorf("bad branch name")
	}
	cmd := exec.Command("git", "--git-dir", filepath.Clean(dir), "rev-parse", "--verify", "--quiet", "refs/heads/"+branch)
	out, err := cmd.Output()
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}
