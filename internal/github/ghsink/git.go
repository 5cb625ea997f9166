package ghsink

import (
	"net/http"
	"net/http/cgi"
	"os/exec"
	"strings"
)

// serveGit answers git's smart HTTP protocol for the mapped bare repositories at /<owner>/<name>.git/...
// (clone, fetch and push, as github.com serves them), through the real `git http-backend`. It reports
// whether the request was a git request.
func (s *Server) serveGit(w http.ResponseWriter, r *http.Request) bool {
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 3)
	if len(parts) < 3 || !strings.HasSuffix(parts[1], ".git") || parts[0] == "repos" {
		return false
	}
	repo := parts[0] + "/" + strings.TrimSuffix(parts[1], ".git")
	s.mu.Lock()
	dir, ok := s.gitRepos[repo]
	token := s.token
	s.mu.Unlock()
	if !ok {
		http.Error(w, "Repository not found.", http.StatusNotFound)
		return true
	}
	if token != "" && !gitAuthorized(r, token) {
		w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
		http.Error(w, "Invalid username or token.", http.StatusUnauthorized)
		return true
	}
	gitPath, err := exec.LookPath("git")
	if err != nil {
		http.Error(w, "git is not installed", http.StatusInternalServerError)
		return true
	}
	h := &cgi.Handler{
		Path: gitPath, Args: []string{"http-backend"}, Root: "/" + parts[0] + "/" + parts[1],
		Env: []string{"GIT_PROJECT_ROOT=" + dir, "GIT_HTTP_EXPORT_ALL=1",
			// Pushes are accepted as github.com accepts them from a token holder.
			"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.receivepack", "GIT_CONFIG_VALUE_0=true"},
	}
	h.ServeHTTP(w, r)
	return true
}

// gitAuthorized accepts the token as git sends it: Basic with the token as password, or Bearer.
func gitAuthorized(r *http.Request, token string) bool {
	if _, pass, ok := r.BasicAuth(); ok && pass == token {
		return true
	}
	return r.Header.Get("Authorization") == "Bearer "+token
}
