package skills

import (
	"strings"
	"testing"
)

func TestAllParsesEveryPlaybook(t *testing.T) {
	all := All()
	want := map[string]string{"analyze_canary": "triage", "investigate_service": "triage", "fix_plan": "fixer"}
	for name, agent := range want {
		s, ok := Get(name)
		if !ok {
			t.Fatalf("skill %q missing; have %d skills", name, len(all))
		}
		if s.Agent != agent || s.Title == "" || s.Description == "" || strings.TrimSpace(s.Body) == "" {
			t.Errorf("skill %q incomplete: %+v", name, s)
		}
		if strings.HasPrefix(s.Body, "---") {
			t.Errorf("skill %q body still holds front-matter", name)
		}
	}
	for _, s := range all {
		if s.Name == "" || strings.ContainsAny(s.Name, " -") {
			t.Errorf("skill name %q must be snake_case (it is an MCP prompt name)", s.Name)
		}
	}
}

func TestFixPlanHasTheSectionsTheFixerExpects(t *testing.T) {
	s, _ := Get("fix_plan")
	for _, sec := range []string{"## Repository", "## Summary", "## Root causes", "## Affected services", "## Recommendations", "## Debugging steps", "## Task"} {
		if !strings.Contains(s.Body, sec) {
			t.Errorf("fix_plan lacks section %q", sec)
		}
	}
}

func TestParseRejectsBrokenFrontMatter(t *testing.T) {
	if _, err := Parse("---\nname: x\nbody"); err == nil {
		t.Error("unclosed front-matter accepted")
	}
	if _, err := Parse("---\nbogus: 1\n---\nbody"); err == nil {
		t.Error("unknown key accepted")
	}
	s, err := Parse("---\nname: a\ntitle: \"T\"\n---\nhello {{who}}\n")
	if err != nil || s.Name != "a" || s.Title != "T" || Render(s.Body, map[string]string{"who": "you"}) != "hello you\n" {
		t.Errorf("Parse/Render = %+v, %v", s, err)
	}
}
