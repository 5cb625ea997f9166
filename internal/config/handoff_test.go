package config

import "testing"

func TestParseFixerChoice(t *testing.T) {
	good := map[string]string{"opencode": "opencode", "none": "none", "label:jules": "label:jules", "assignee:@Copilot": "assignee:Copilot",
		"mention:@claude please fix this": "mention:@claude please fix this", " LABEL: ai fix ": "label:ai fix"}
	for in, want := range good {
		c, err := ParseFixerChoice(in)
		if err != nil || c.String() != want {
			t.Errorf("ParseFixerChoice(%q) = %v, %v; want %s", in, c, err, want)
		}
	}
	for _, in := range []string{"", "label:", "label:a,b", "assignee:not a login", "mention:", "jules", "opencode:x", "copilot"} {
		if c, err := ParseFixerChoice(in); err == nil {
			t.Errorf("ParseFixerChoice(%q) = %v, want an error", in, c)
		}
	}
}

// The rollout's annotation wins over its namespace's entry, which wins over the global choice; a bad
// annotation is an error, not a silent fallback.
func TestFixerForPrecedence(t *testing.T) {
	h := Handoff{Fixer: "label:jules", Namespaces: []string{"payments=assignee:copilot", "lab=none"}}
	for _, c := range []struct{ ns, ann, want string }{
		{"shop", "", "label:jules"}, {"payments", "", "assignee:copilot"}, {"lab", "", "none"}, {"payments", "mention:@claude fix", "mention:@claude fix"},
	} {
		got, err := h.FixerFor(c.ns, c.ann)
		if err != nil || got.String() != c.want {
			t.Errorf("FixerFor(%s, %q) = %v, %v; want %s", c.ns, c.ann, got, err, c.want)
		}
	}
	if _, err := h.FixerFor("shop", "label:"); err == nil {
		t.Error("a bad annotation was accepted")
	}
	d := Default()
	d.Handoff.Fixer, d.Handoff.Namespaces = "assign:x", []string{"nope"}
	if errs := d.Handoff.validate(); len(errs) != 2 {
		t.Errorf("validate: %v, want 2 errors (fixer, namespaces)", errs)
	}
}
