package fixer

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/fixloop/fixloop/internal/opencode"
)

// reporter turns OpenCode events into progress lines: tool calls as they start and end, files edited,
// LLM retries and errors. Repeated updates of the same part are reported once per state.
type reporter struct {
	dir      string
	progress Progress
	mu       sync.Mutex
	seen     map[string]bool
	edited   map[string]bool
}

func newReporter(dir string, p Progress) *reporter {
	return &reporter{dir: dir, progress: p, seen: map[string]bool{}, edited: map[string]bool{}}
}

func (r *reporter) once(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[key] {
		return false
	}
	r.seen[key] = true
	return true
}

func (r *reporter) event(ev opencode.Event) {
	if file, ok := ev.File(); ok {
		rel := relTo(r.dir, file)
		r.mu.Lock()
		r.edited[rel] = true
		r.mu.Unlock()
		if r.once("file:" + rel) {
			r.progress("edited " + rel)
		}
		return
	}
	if msg, ok := ev.Error(); ok {
		r.progress("error: " + oneLine(msg))
		return
	}
	if st, ok := ev.Status(); ok && st.Type == "retry" {
		if r.once(fmt.Sprintf("retry:%d", st.Attempt)) {
			r.progress(fmt.Sprintf("LLM call failed, OpenCode retrying (attempt %d): %s", st.Attempt, oneLine(st.Message)))
		}
		return
	}
	p, ok := ev.Part()
	if !ok {
		return
	}
	switch p.Type {
	case "tool":
		key := "tool:" + p.CallID + ":" + p.Status
		// Announce a call on the first state seen: under load OpenCode's updates can coalesce, so a
		// fast tool (edit) may arrive already completed without a running update.
		if p.Status != "" && r.once("tool:"+p.CallID+":"+p.Tool+":start") {
			r.progress(fmt.Sprintf("tool %s: %s", p.Tool, r.toolDetail(p)))
		}
		switch p.Status {
		case "completed":
			if r.once(key) {
				r.progress(fmt.Sprintf("tool %s done%s", p.Tool, suffix(truncate(p.Title, 120))))
			}
		case "error":
			if r.once(key) {
				r.progress(fmt.Sprintf("tool %s failed: %s", p.Tool, oneLine(p.Error)))
			}
		}
	case "patch":
		for _, f := range p.Files {
			rel := relTo(r.dir, f)
			r.mu.Lock()
			r.edited[rel] = true
			r.mu.Unlock()
		}
	}
}

// files returns the files edited so far, sorted.
func (r *reporter) files() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.edited))
	for f := range r.edited {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

func (r *reporter) toolDetail(p opencode.Part) string {
	var in struct {
		FilePath string `json:"filePath"`
		Command  string `json:"command"`
		Pattern  string `json:"pattern"`
	}
	_ = json.Unmarshal(p.Input, &in)
	switch {
	case in.Command != "":
		return truncate(oneLine(in.Command), 200)
	case in.FilePath != "":
		return relTo(r.dir, in.FilePath)
	case in.Pattern != "":
		return in.Pattern
	case p.Title != "":
		return oneLine(p.Title)
	}
	return truncate(oneLine(string(p.Input)), 200)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func suffix(s string) string {
	if s = oneLine(s); s == "" {
		return ""
	}
	return ": " + s
}
