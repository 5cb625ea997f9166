// Package skills embeds fixloop's markdown playbooks and prompts. The MCP server serves them as prompts,
// the A2A host lists them as agent skills, and the agents use their bodies as system prompts/templates.
//
// Each file is markdown with a small front-matter block:
//
//	---
//	name: analyze_canary
//	title: Analyze a canary
//	description: one line
//	agent: triage
//	---
//	body...
package skills

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
)

//go:embed *.md
var files embed.FS

// Skill is one embedded playbook or prompt.
type Skill struct {
	Name        string // stable identifier (snake_case), also the MCP prompt name
	Title       string
	Description string
	Body        string // markdown after the front-matter
	Agent       string // owning agent: "triage", "fixer" or "" for shared
}

var (
	loadOnce sync.Once
	loaded   []Skill
	loadErr  error
)

func load() {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		loadErr = err
		return
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".md") {
			continue
		}
		raw, err := files.ReadFile(e.Name())
		if err != nil {
			loadErr = err
			return
		}
		s, err := Parse(string(raw))
		if err != nil {
			loadErr = fmt.Errorf("skills/%s: %w", e.Name(), err)
			return
		}
		if s.Name == "" {
			s.Name = strings.TrimSuffix(e.Name(), ".md")
		}
		loaded = append(loaded, s)
	}
	sort.Slice(loaded, func(i, j int) bool { return loaded[i].Name < loaded[j].Name })
}

// All returns every embedded skill sorted by name. A malformed file is a build-time defect caught by the
// package tests, so All panics rather than silently dropping a playbook.
func All() []Skill {
	loadOnce.Do(load)
	if loadErr != nil {
		panic(loadErr)
	}
	out := make([]Skill, len(loaded))
	copy(out, loaded)
	return out
}

// Get returns the skill with the given name.
func Get(name string) (Skill, bool) {
	for _, s := range All() {
		if s.Name == name {
			return s, true
		}
	}
	return Skill{}, false
}

// ForAgent returns the skills owned by agent (e.g. "triage").
func ForAgent(agent string) []Skill {
	var out []Skill
	for _, s := range All() {
		if s.Agent == agent {
			out = append(out, s)
		}
	}
	return out
}

// Parse reads one skill file: optional "---" front-matter of "key: value" lines, then the body.
func Parse(text string) (Skill, error) {
	var s Skill
	text = strings.ReplaceAll(text, "\r\n", "\n")
	if !strings.HasPrefix(text, "---\n") {
		s.Body = strings.TrimSpace(text)
		return s, nil
	}
	rest := text[len("---\n"):]
	end := strings.Index(rest, "\n---")
	if end < 0 {
		return s, fmt.Errorf("front-matter not closed with ---")
	}
	head := rest[:end]
	body := rest[end+len("\n---"):]
	if i := strings.IndexByte(body, '\n'); i >= 0 {
		body = body[i+1:]
	} else {
		body = ""
	}
	for n, line := range strings.Split(head, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return s, fmt.Errorf("front-matter line %d: want key: value, got %q", n+1, line)
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		switch strings.TrimSpace(k) {
		case "name":
			s.Name = v
		case "title":
			s.Title = v
		case "description":
			s.Description = v
		case "agent":
			s.Agent = v
		default:
			return s, fmt.Errorf("front-matter line %d: unknown key %q", n+1, k)
		}
	}
	s.Body = strings.TrimSpace(body) + "\n"
	return s, nil
}

// Render replaces {{key}} placeholders in a skill body with values; unknown placeholders stay as they are
// so a missing value is visible rather than silently empty.
func Render(body string, values map[string]string) string {
	if len(values) == 0 {
		return body
	}
	pairs := make([]string, 0, 2*len(values))
	for k, v := range values {
		pairs = append(pairs, "{{"+k+"}}", v)
	}
	return strings.NewReplacer(pairs...).Replace(body)
}
