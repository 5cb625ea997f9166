package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Handoff chooses who fixes a failure once its issue is filed: fixloop's own fixer (OpenCode), or a
// coding agent that lives on GitHub and is summoned by a label, an assignee or a mention.
type Handoff struct {
	// Fixer is the global choice: opencode | label:<name> | assignee:<login> | mention:<text> | none.
	Fixer string `json:"fixer"`
	// Namespaces override it per namespace: "ns=choice" entries. A rollout's fixloop.dev/fixer
	// annotation overrides both.
	Namespaces []string `json:"namespaces,omitempty"`
	// PRTimeout: a hand-off with no pull request after this long is flagged.
	PRTimeout Duration `json:"prTimeout"`
	// PollInterval between looks at a handed-off issue (conditional requests: a 304 costs no quota).
	PollInterval Duration `json:"pollInterval"`
	// Wait is how long one analysis waits for the agent's pull request before answering (0: not at
	// all; the next analysis or the follower reports it).
	Wait Duration `json:"wait"`
	// WebhookSecret verifies X-Hub-Signature-256 on GitHub webhook deliveries. No flag.
	WebhookSecret string `json:"webhookSecret,omitempty"`
}

// FixerAnnotation on a Rollout overrides the configured fixer choice for it.
const FixerAnnotation = "fixloop.dev/fixer"

// FixerChoice is a parsed fixer setting.
type FixerChoice struct {
	Kind  string // opencode | label | assignee | mention | none
	Value string // the label, login or mention text
}

func (f FixerChoice) String() string {
	if f.Value == "" {
		return f.Kind
	}
	return f.Kind + ":" + f.Value
}

// External reports whether the fix goes to a coding agent on GitHub.
func (f FixerChoice) External() bool {
	return f.Kind == "label" || f.Kind == "assignee" || f.Kind == "mention"
}

var (
	ghLogin   = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$`)
	labelName = regexp.MustCompile(`^[^,\x00-\x1f]{1,50}$`)
)

// ParseFixerChoice reads opencode | label:<name> | assignee:<login> | mention:<text> | none. Values come
// from configuration or a rollout annotation (a cluster admin's), never from a request body.
func ParseFixerChoice(s string) (FixerChoice, error) {
	s = strings.TrimSpace(s)
	kind, val, _ := strings.Cut(s, ":")
	kind, val = strings.ToLower(strings.TrimSpace(kind)), strings.TrimSpace(val)
	switch kind {
	case "opencode", "none":
		if val != "" {
			return FixerChoice{}, fmt.Errorf("%q: %s takes no value", s, kind)
		}
	case "label":
		if !labelName.MatchString(val) {
			return FixerChoice{}, fmt.Errorf("%q: want label:<name> (1-50 characters, no comma)", s)
		}
	case "assignee":
		val = strings.TrimPrefix(val, "@")
		if !ghLogin.MatchString(val) {
			return FixerChoice{}, fmt.Errorf("%q: want assignee:<GitHub login>", s)
		}
	case "mention":
		if val == "" || len(val) > 1000 {
			return FixerChoice{}, fmt.Errorf("%q: want mention:<text> (1-1000 characters, e.g. mention:@claude please fix this)", s)
		}
	default:
		return FixerChoice{}, fmt.Errorf("%q is not opencode, label:<name>, assignee:<login>, mention:<text> or none", s)
	}
	return FixerChoice{Kind: kind, Value: val}, nil
}

// FixerFor resolves the choice for a rollout: its annotation, else its namespace's entry, else the
// global one. A bad annotation is an error (the caller reports it; nothing is handed off).
func (h Handoff) FixerFor(namespace, annotation string) (FixerChoice, error) {
	if strings.TrimSpace(annotation) != "" {
		c, err := ParseFixerChoice(annotation)
		if err != nil {
			return FixerChoice{}, fmt.Errorf("annotation %s: %w", FixerAnnotation, err)
		}
		return c, nil
	}
	for _, e := range h.Namespaces {
		if ns, choice, ok := strings.Cut(e, "="); ok && strings.TrimSpace(ns) == namespace {
			return ParseFixerChoice(choice)
		}
	}
	if strings.TrimSpace(h.Fixer) == "" {
		return FixerChoice{Kind: "opencode"}, nil
	}
	return ParseFixerChoice(h.Fixer)
}

func defaultHandoff() Handoff {
	return Handoff{Fixer: "opencode", PRTimeout: Duration{2 * time.Hour}, PollInterval: Duration{time.Minute}}
}

var handoffSettings = []setting{
	{"fixer", []string{"FIXLOOP_FIXER"}, kString, "who fixes a filed failure: opencode, label:<name>, assignee:<login>, mention:<text> or none (a rollout's fixloop.dev/fixer annotation overrides)", func(c *Config) any { return &c.Handoff.Fixer }},
	{"fixer-namespaces", []string{"FIXLOOP_FIXER_NAMESPACES"}, kList, "per-namespace fixer choice: comma-separated ns=choice", func(c *Config) any { return &c.Handoff.Namespaces }},
	{"handoff-pr-timeout", []string{"FIXLOOP_HANDOFF_PR_TIMEOUT"}, kDuration, "flag a hand-off to a coding agent with no pull request after this long", func(c *Config) any { return &c.Handoff.PRTimeout }},
	{"handoff-poll-interval", []string{"FIXLOOP_HANDOFF_POLL_INTERVAL"}, kDuration, "time between looks at a handed-off issue (ETag requests)", func(c *Config) any { return &c.Handoff.PollInterval }},
	{"handoff-wait", []string{"FIXLOOP_HANDOFF_WAIT"}, kDuration, "how long one canary analysis waits for the coding agent's pull request (0: no wait)", func(c *Config) any { return &c.Handoff.Wait }},
	{"", []string{"FIXLOOP_GITHUB_WEBHOOK_SECRET"}, kString, "secret of GitHub webhook deliveries (X-Hub-Signature-256)", func(c *Config) any { return &c.Handoff.WebhookSecret }},
}

func init() { settings = append(settings, handoffSettings...) }

func (h Handoff) validate() []error {
	var errs []error
	if _, err := ParseFixerChoice(orOpenCode(h.Fixer)); err != nil {
		errs = append(errs, fmt.Errorf("fixer (--fixer / FIXLOOP_FIXER): %w", err))
	}
	for _, e := range h.Namespaces {
		ns, choice, ok := strings.Cut(e, "=")
		if !ok || strings.TrimSpace(ns) == "" {
			errs = append(errs, fmt.Errorf("fixer namespaces (--fixer-namespaces): %q is not ns=choice", e))
			continue
		}
		if _, err := ParseFixerChoice(choice); err != nil {
			errs = append(errs, fmt.Errorf("fixer namespaces (--fixer-namespaces): namespace %s: %w", ns, err))
		}
	}
	if h.PRTimeout.Duration < time.Second {
		errs = append(errs, fmt.Errorf("hand-off PR timeout (--handoff-pr-timeout): %s is below 1s", h.PRTimeout))
	}
	if h.PollInterval.Duration < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("hand-off poll interval (--handoff-poll-interval): %s is below 100ms", h.PollInterval))
	}
	if h.Wait.Duration < 0 || h.Wait.Duration > 4*time.Minute {
		errs = append(errs, fmt.Errorf("hand-off wait (--handoff-wait): %s is outside 0-4m (an analysis must answer within the plugin's timeout)", h.Wait))
	}
	return errs
}

func orOpenCode(s string) string {
	if strings.TrimSpace(s) == "" {
		return "opencode"
	}
	return s
}
