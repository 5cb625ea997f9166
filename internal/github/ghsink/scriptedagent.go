package ghsink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v66/github"
)

// ScriptedAgent plays a coding agent that lives on GitHub (Jules, Copilot's coding agent, @claude): it
// polls the sink's REST API with its own token, and when an issue carries its trigger it comments that
// it is on it and opens a pull request that closes the issue. Tests use it in place of the SaaS agent.
type ScriptedAgent struct {
	API   string // the sink's API root, e.g. http://127.0.0.1:PORT/
	Token string // one of Options.Users: the agent acts as that login
	Repo  string // owner/name
	// Exactly one trigger: a label, an assignee login, or text in a comment (a mention).
	Label, Assignee, Mention string
	Base                     string // PR base branch (default main)
	NoPR                     bool   // comments but never opens a pull request (the flagged case)
	Interval                 time.Duration

	mu   sync.Mutex
	done map[int]bool
}

type agentIssue struct {
	Number    int         `json:"number"`
	Title     string      `json:"title"`
	Labels    []*gh.Label `json:"labels"`
	Assignees []*gh.User  `json:"assignees"`
}

// Run reacts to triggers until ctx ends.
func (a *ScriptedAgent) Run(ctx context.Context) {
	if a.Interval <= 0 {
		a.Interval = 50 * time.Millisecond
	}
	t := time.NewTicker(a.Interval)
	defer t.Stop()
	for {
		var issues []agentIssue
		if err := a.do(ctx, http.MethodGet, "repos/"+a.Repo+"/issues?state=open&per_page=100", nil, &issues); err == nil {
			for _, is := range issues {
				if !a.handled(is.Number) && a.triggered(ctx, is) {
					a.work(ctx, is)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Handled lists the issues the agent has acted on.
func (a *ScriptedAgent) Handled() []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []int
	for n := range a.done {
		out = append(out, n)
	}
	return out
}

func (a *ScriptedAgent) handled(n int) bool { a.mu.Lock(); defer a.mu.Unlock(); return a.done[n] }

func (a *ScriptedAgent) triggered(ctx context.Context, is agentIssue) bool {
	switch {
	case a.Label != "":
		for _, l := range is.Labels {
			if strings.EqualFold(l.GetName(), a.Label) {
				return true
			}
		}
	case a.Assignee != "":
		for _, u := range is.Assignees {
			if strings.EqualFold(u.GetLogin(), a.Assignee) {
				return true
			}
		}
	case a.Mention != "":
		var cs []*gh.IssueComment
		if a.do(ctx, http.MethodGet, fmt.Sprintf("repos/%s/issues/%d/comments?per_page=100", a.Repo, is.Number), nil, &cs) != nil {
			return false
		}
		for _, c := range cs {
			if strings.Contains(c.GetBody(), a.Mention) {
				return true
			}
		}
	}
	return false
}

func (a *ScriptedAgent) work(ctx context.Context, is agentIssue) {
	path := fmt.Sprintf("repos/%s/issues/%d/comments", a.Repo, is.Number)
	if a.do(ctx, http.MethodPost, path, map[string]string{"body": "On it: working on a fix for this issue."}, nil) != nil {
		return
	}
	if !a.NoPR {
		base := a.Base
		if base == "" {
			base = "main"
		}
		pr := map[string]any{"title": "Fix " + is.Title, "head": fmt.Sprintf("agent/fix-%d", is.Number), "base": base,
			"body": fmt.Sprintf("Fixes #%d\n\nScripted coding agent's change.", is.Number)}
		if a.do(ctx, http.MethodPost, "repos/"+a.Repo+"/pulls", pr, nil) != nil {
			return
		}
	}
	a.mu.Lock()
	if a.done == nil {
		a.done = map[int]bool{}
	}
	a.done[is.Number] = true
	a.mu.Unlock()
}

func (a *ScriptedAgent) do(ctx context.Context, method, path string, in, out any) error {
	var body *bytes.Reader
	if in != nil {
		raw, _ := json.Marshal(in)
		body = bytes.NewReader(raw)
	} else {
		body = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(a.API, "/")+"/"+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}
