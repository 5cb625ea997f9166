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
