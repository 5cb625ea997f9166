package ghsink

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// What a coding agent living on GitHub needs beyond fixloop's own calls: acting as its own user,
// assignees, commit statuses, and conditional GETs (ETag / If-None-Match → 304) as GitHub answers
// them, so pollers can be held to GitHub's rate-limit manners.

type userKey struct{}

func withUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

func userOf(r *http.Request) User {
	if u, ok := r.Context().Value(userKey{}).(User); ok {
		return u
	}
	return bot
}

// caller resolves the Authorization header: the configured token acts as fixloop-bot, a listed user
// token as that user; with no token configured anything is accepted.
func (s *Server) caller(header string) (User, bool) {
	tok := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(header, "Bearer "), "token "))
	if login, ok := s.users[tok]; ok && tok != "" {
		return User{Login: login, ID: int64(len(login)) + 1000, Type: "User"}, true
	}
	if s.token != "" && tok != s.token {
		return User{}, false
	}
	return bot, true
}

// serveConditional answers a GET with an ETag over the body and 304 when If-None-Match matches.
func (s *Server) serveConditional(w http.ResponseWriter, r *http.Request, path string, body []byte, user User) {
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

// routeAgentAPI serves assignees and commit statuses; false when the path is not one of them.
func (s *Server) routeAgentAPI(w http.ResponseWriter, r *http.Request, repoName string, rest []string, body []byte) bool {
	switch {
	case len(rest) == 3 && rest[0] == "issues" && rest[2] == "assignees" && r.Method == http.MethodPost:
		n, err := strconv.Atoi(rest[1])
		is := s.repo(repoName).Issues[n]
		if err != nil || is == nil {
			apiError(w, http.StatusNotFound, "Not Found")
			return true
		}
		var in struct {
			Assignees []string `json:"assignees"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			apiError(w, http.StatusBadRequest, "Problems parsing JSON")
			return true
		}
		for _, a := range in.Assignees {
			if !assigned(is, a) {
				is.Assignees = append(is.Assignees, User{Login: a, ID: s.id(), Type: "User"})
			}
		}
		is.UpdatedAt = s.now().UTC()
		s.saveLocked()
		writeJSON(w, http.StatusCreated, is)
		return true
	case len(rest) == 4 && rest[0] == "commits" && rest[3] == "status" || len(rest) == 3 && rest[0] == "commits" && rest[2] == "status":
		s.combinedStatus(w, repoName, rest[1])
		return true
	case len(rest) == 2 && rest[0] == "statuses" && r.Method == http.MethodPost:
		var in struct {
			State   string `json:"state"`
			Context string `json:"context"`
		}
		if err := json.Unmarshal(body, &in); err != nil || in.State == "" {
			apiError(w, http.StatusUnprocessableEntity, "Validation Failed: state is required")
			return true
		}
		repo := s.repo(repoName)
		if repo.Statuses == nil {
			repo.Statuses = map[string]map[string]string{}
		}
		if repo.Statuses[rest[1]] == nil {
			repo.Statuses[rest[1]] = map[string]string{}
		}
		repo.Statuses[rest[1]][in.Context] = in.State
		s.saveLocked()
		writeJSON(w, http.StatusCreated, map[string]string{"state": in.State, "context": in.Context})
		return true
	}
	return false
}

func assigned(is *Issue, login string) bool {
	for _, u := range is.Assignees {
		if strings.EqualFold(u.Login, login) {
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
	var list []map[string]string
	for ctx, v := range st {
		list = append(list, map[string]string{"context": ctx, "state": v})
		switch {
		case v == "failure" || v == "error":
			state = "failure"
		case v == "pending" && state == "success":
			state = "pending"
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"state": state, "sha": sha, "total_count": len(list), "statuses": list})
}
