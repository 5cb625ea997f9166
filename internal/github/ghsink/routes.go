package ghsink

import (
	"bytes"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v66/github"
)

// routes maps the REST subset to its handlers with Go's method patterns. Handlers run under s.mu (taken
// by ServeHTTP) and read the already-bounded body from r.Body.
func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	const repo = "/repos/{owner}/{repo}"
	m.HandleFunc("GET "+repo+"/issues", func(w http.ResponseWriter, r *http.Request) { s.listIssues(w, r, repoOf(r)) })
	m.HandleFunc("POST "+repo+"/issues", func(w http.ResponseWriter, r *http.Request) { s.createIssue(w, repoOf(r), body(r)) })
	m.HandleFunc("GET "+repo+"/issues/{n}", s.withIssue(func(w http.ResponseWriter, _ *http.Request, _ *Repo, is *gh.Issue) { writeJSON(w, 200, is) }))
	m.HandleFunc("PATCH "+repo+"/issues/{n}", s.withIssue(s.editIssue))
	m.HandleFunc("GET "+repo+"/issues/{n}/comments", s.withIssue(s.listComments))
	m.HandleFunc("POST "+repo+"/issues/{n}/comments", s.withIssue(s.createComment))
	m.HandleFunc("GET "+repo+"/issues/{n}/labels", s.withIssue(func(w http.ResponseWriter, _ *http.Request, _ *Repo, is *gh.Issue) { writeJSON(w, 200, is.Labels) }))
	m.HandleFunc("POST "+repo+"/issues/{n}/labels", s.withIssue(s.addLabels))
	m.HandleFunc("POST "+repo+"/issues/{n}/assignees", s.withIssue(s.addAssignees))
	m.HandleFunc("GET "+repo+"/labels", func(w http.ResponseWriter, r *http.Request) { s.listLabels(w, repoOf(r)) })
	m.HandleFunc("GET "+repo+"/pulls", func(w http.ResponseWriter, r *http.Request) { s.listPulls(w, r, repoOf(r)) })
	m.HandleFunc("POST "+repo+"/pulls", func(w http.ResponseWriter, r *http.Request) { s.createPull(w, repoOf(r), body(r), userOf(r)) })
	m.HandleFunc("GET "+repo+"/pulls/{n}", s.getPull)
	m.HandleFunc("GET "+repo+"/branches/{branch...}", func(w http.ResponseWriter, r *http.Request) { s.branch(w, repoOf(r), r.PathValue("branch")) })
	m.HandleFunc("GET "+repo+"/commits/{refStatus...}", s.getCombinedStatus) // a ref may hold slashes
	m.HandleFunc("POST "+repo+"/statuses/{sha}", s.createStatus)
	m.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { apiError(w, http.StatusNotFound, "Not Found") })
	return m
}

// route serves one API request (path without the /api/v3 prefix) through the mux.
func (s *Server) route(w http.ResponseWriter, r *http.Request, path string, b []byte) {
	r2 := r.Clone(r.Context())
	r2.URL.Path, r2.URL.RawPath = "/"+strings.Trim(path, "/"), ""
	r2.Body = io.NopCloser(bytes.NewReader(b))
	s.mux.ServeHTTP(w, r2)
}

func repoOf(r *http.Request) string { return r.PathValue("owner") + "/" + r.PathValue("repo") }

// body is the request body ServeHTTP read (bounded to 1 MiB) and route put back.
func body(r *http.Request) []byte {
	b, _ := io.ReadAll(r.Body)
	return b
}

// withIssue resolves {n} to an issue of the repository, answering 404 when there is none.
func (s *Server) withIssue(h func(http.ResponseWriter, *http.Request, *Repo, *gh.Issue)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		repo := s.repo(repoOf(r))
		n, err := strconv.Atoi(r.PathValue("n"))
		is := repo.Issues[n]
		if err != nil || is == nil {
			apiError(w, http.StatusNotFound, "Not Found")
			return
		}
		h(w, r, repo, is)
	}
}

func (s *Server) listLabels(w http.ResponseWriter, repoName string) {
	ls := []*gh.Label{}
	for _, l := range s.repo(repoName).Labels {
		ls = append(ls, l)
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i].GetName() < ls[j].GetName() })
	writeJSON(w, 200, ls)
}

func (s *Server) getPull(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	p := s.repo(repoOf(r)).Pulls[n]
	if p == nil {
		apiError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, 200, p)
}

// getCombinedStatus serves commits/{ref}/status, where ref may be a branch name with slashes.
func (s *Server) getCombinedStatus(w http.ResponseWriter, r *http.Request) {
	ref, ok := strings.CutSuffix(r.PathValue("refStatus"), "/status")
	if !ok || ref == "" {
		apiError(w, http.StatusNotFound, "Not Found")
		return
	}
	s.combinedStatus(w, repoOf(r), ref)
}
