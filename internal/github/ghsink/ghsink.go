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

	gh "github.com/google/go-github/v66/github"
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

// state is what the state file holds. Version 0 (absent) is the first format, ghsink's own structs
// with GitHub's field names; version 2 is go-github's types. Both decode into Repo.
type state struct {
	Version int              `json:"version,omitempty"`
	Repos   map[string]*Repo `json:"repos"`
	NextID  int64            `json:"nextId"`
}

// stateVersion is the format saveLocked writes.
const stateVersion = 2

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
			if err := s.load(o.StateFile, data); err != nil {
				return nil, err
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

// load reads a state file of either format (see state); a newer format is refused rather than
// overwritten, so a downgrade never loses a user's demo state.
func (s *Server) load(path string, data []byte) error {
	if err := json.Unmarshal(data, &s.state); err != nil {
		return fmt.Errorf("ghsink: state file %s is not valid JSON: %w", path, err)
	}
	if s.state.Version > stateVersion {
		return fmt.Errorf("ghsink: state file %s has format %d; this fixloop reads up to %d (upgrade fixloop or move the file away)", path, s.state.Version, stateVersion)
	}
	if s.state.Repos == nil {
		s.state.Repos = map[string]*Repo{}
	}
	for name, r := range s.state.Repos {
		if r == nil {
			r = &Repo{}
			s.state.Repos[name] = r
		}
		r.init()
	}
	return nil
}

// init makes the maps a hand-edited or older state file may lack.
func (r *Repo) init() {
	if r.Issues == nil {
		r.Issues = map[int]*gh.Issue{}
	}
	if r.Comments == nil {
		r.Comments = map[int][]*gh.IssueComment{}
	}
	if r.Pulls == nil {
		r.Pulls = map[int]*gh.PullRequest{}
	}
	if r.Labels == nil {
		r.Labels = map[string]*gh.Label{}
	}
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
		r.Issues[number].State, r.Issues[number].ClosedAt = ptr("closed"), ts(t)
		s.saveLocked()
	}
}

func (s *Server) repo(name string) *Repo {
	r := s.state.Repos[name]
	if r == nil {
		r = &Repo{}
		r.init()
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
	s.state.Version = stateVersion
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

var bot = gh.User{Login: ptr("fixloop-bot"), ID: ptr(int64(1)), Type: ptr("Bot")}

// newUser is a user as GitHub serialises one (a fresh copy: the stored issue owns it).
func newUser(login string, id int64, kind string) *gh.User {
	return &gh.User{Login: ptr(login), ID: ptr(id), Type: ptr(kind)}
}

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
	var out []*gh.PullRequest
	for _, p := range s.repo(repoName).Pulls {
		if state != "all" && p.GetState() != state {
			continue
		}
		if head != "" && p.GetHead().GetRef() != head {
			continue
		}
		if b := q.Get("base"); b != "" && p.GetBase().GetRef() != b {
			continue
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetNumber() > out[j].GetNumber() })
	out = paginate(w, r, out)
	if out == nil {
		out = []*gh.PullRequest{}
	}
	writeJSON(w, 200, out)
}

func (s *Server) createPull(w http.ResponseWriter, repoName string, body []byte, user gh.User) {
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
		if p.GetState() == "open" && p.GetHead().GetRef() == head && p.GetBase().GetRef() == in.Base {
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
	p := &gh.PullRequest{ID: ptr(s.id()), Number: ptr(repo.Next), Title: ptr(in.Title), Body: ptr(in.Body), State: ptr("open"),
		Draft: ptr(in.Draft), Merged: ptr(false), User: &user, CreatedAt: ts(now), UpdatedAt: ts(now),
		Head:    &gh.PullRequestBranch{Ref: ptr(head), SHA: ptr(headSHA), Label: ptr(owner + ":" + head)},
		Base:    &gh.PullRequestBranch{Ref: ptr(in.Base), SHA: ptr(baseSHA), Label: ptr(owner + ":" + in.Base)},
		URL:     ptr(fmt.Sprintf("%s/repos/%s/pulls/%d", s.baseURL, repoName, repo.Next)),
		HTMLURL: ptr(fmt.Sprintf("%s/%s/pull/%d", s.baseURL, repoName, repo.Next))}
	repo.Pulls[repo.Next] = p
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
	writeJSON(w, 200, &gh.Branch{Name: ptr(name), Protected: ptr(false),
		Commit: &gh.RepositoryCommit{SHA: ptr(sha), URL: ptr(fmt.Sprintf("%s/repos/%s/commits/%s", s.baseURL, repoName, sha))}})
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
