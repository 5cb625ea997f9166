package ghsink

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	gh "github.com/google/go-github/v66/github"
)

// Pull requests and branches (read from the local bare repository).

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
