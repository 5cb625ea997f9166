package ghsink

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v66/github"
)

// What a coding agent living on GitHub needs beyond fixloop's own calls: acting as its own user,
// assignees, commit statuses, and conditional GETs (ETag / If-None-Match → 304) as GitHub answers
// them, so pollers can be held to GitHub's rate-limit manners.

type userKey struct{}

func withUser(ctx context.Context, u gh.User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

func userOf(r *http.Request) gh.User {
	if u, ok := r.Context().Value(userKey{}).(gh.User); ok {
		return u
	}
	return bot
}

// caller resolves the Authorization header: the configured token acts as fixloop-bot, a listed user
// token as that user; with no token configured anything is accepted.
func (s *Server) caller(header string) (gh.User, bool) {
	tok := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(header, "Bearer "), "token "))
	if login, ok := s.users[tok]; ok && tok != "" {
		return *newUser(login, int64(len(login))+1000, "User"), true
	}
	if s.token != "" && tok != s.token {
		return gh.User{}, false
	}
	return bot, true
}

// serveConditional answers a GET with an ETag over the body and 304 when If-None-Match matches.
func (s *Server) serveConditional(w http.ResponseWriter, r *http.Request, path string, body []byte, user gh.User) {
	rec := &bufferedWriter{header: http.Header{}, code: http.StatusOK}
	s.route(rec, r.WithContext(withUser(r.Context(), user)), path, body)
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	if rec.code == http.StatusOK {
		sum := sha256.Sum256(rec.buf.Bytes())
		etag := `"` + hex.EncodeToString(sum[:12]) + `"`
		w.Header().Set("ETag", etag)
		if match := r.Header.Get("If-None-Match"); match != "" && (match == etag || match == "W/"+etag) {
			s.notModified++
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.WriteHeader(rec.code)
	w.Write(rec.buf.Bytes())
}

type bufferedWriter struct {
	header http.Header
	code   int
	buf    bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.header }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.buf.Write(p) }
func (b *bufferedWriter) WriteHeader(code int)        { b.code = code }

// NotModified counts the conditional GETs answered 304.
func (s *Server) NotModified() int { s.mu.Lock(); defer s.mu.Unlock(); return s.notModified }

func (s *Server) addAssignees(w http.ResponseWriter, r *http.Request, _ *Repo, is *gh.Issue) {
	var in struct {
		Assignees []string `json:"assignees"`
	}
	if err := json.Unmarshal(body(r), &in); err != nil {
		apiError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	for _, a := range in.Assignees {
		if !assigned(is, a) {
			is.Assignees = append(is.Assignees, newUser(a, s.id(), "User"))
		}
	}
	is.UpdatedAt = ts(s.now().UTC())
	s.saveLocked()
	writeJSON(w, http.StatusCreated, is)
}

func (s *Server) createStatus(w http.ResponseWriter, r *http.Request) {
	var in struct {
		State   string `json:"state"`
		Context string `json:"context"`
	}
	if err := json.Unmarshal(body(r), &in); err != nil || in.State == "" {
		apiError(w, http.StatusUnprocessableEntity, "Validation Failed: state is required")
		return
	}
	repo, sha := s.repo(repoOf(r)), r.PathValue("sha")
	if repo.Statuses == nil {
		repo.Statuses = map[string]map[string]string{}
	}
	if repo.Statuses[sha] == nil {
		repo.Statuses[sha] = map[string]string{}
	}
	repo.Statuses[sha][in.Context] = in.State
	s.saveLocked()
	writeJSON(w, http.StatusCreated, &gh.RepoStatus{State: ptr(in.State), Context: ptr(in.Context)})
}

func assigned(is *gh.Issue, login string) bool {
	for _, u := range is.Assignees {
		if strings.EqualFold(u.GetLogin(), login) {
			return true
		}
	}
	return false
}

// combinedStatus folds the statuses posted for sha as GitHub does: failure/error wins, then pending,
// success only when every context succeeded; none at all is pending.
func (s *Server) combinedStatus(w http.ResponseWriter, repoName, sha string) {
	st := s.repo(repoName).Statuses[sha]
	state := "pending"
	if len(st) > 0 {
		state = "success"
	}
	list := []*gh.RepoStatus{}
	for ctx, v := range st {
		list = append(list, &gh.RepoStatus{Context: ptr(ctx), State: ptr(v)})
		switch {
		case v == "failure" || v == "error":
			state = "failure"
		case v == "pending" && state == "success":
			state = "pending"
		}
	}
	writeJSON(w, http.StatusOK, &gh.CombinedStatus{State: ptr(state), SHA: ptr(sha), TotalCount: ptr(len(list)), Statuses: list})
}
