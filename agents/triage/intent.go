package triage

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"github.com/a2aproject/a2a-go/v2/a2a"

	"github.com/fixloop/fixloop/agents"
)

// Intent is what a conversation asks the triage agent to do: a skill and the object it is about. It is
// built without any model from the task's messages in order (a later message overrides what an earlier
// one said), so "investigate shop" followed by "default" reads as investigate shop in namespace default.
type Intent struct {
	Skill     string `json:"skill,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Kind      string `json:"kind,omitempty"` // rollout | deployment | statefulset | daemonset; "" = any
	Name      string `json:"name,omitempty"`
	Window    string `json:"window,omitempty"`
	// Data holds the explicit fields of data parts (and JSON text), merged; they decode into the skill's
	// input and win over what was read from text.
	Data map[string]any `json:"-"`
	// FromText is set when the object's name came from prose rather than explicit fields: only then is
	// a name the cluster does not know worth a question.
	FromText bool `json:"-"`
}

// Slots an input-required question asks for (agents.AskedKey).
const (
	askRequest   = "request"
	askNamespace = "namespace"
	askName      = "name"
)

// intentOf reads the conversation: user messages are parsed and merged; an agent question tells how to
// read the bare answer that follows it.
func intentOf(conv []*a2a.Message) Intent {
	var it Intent
	asked := ""
	for _, m := range conv {
		if m.Role == a2a.MessageRoleAgent {
			if a := agents.Asked(m); a != "" {
				asked = a
			}
			continue
		}
		it.merge(parseMessage(m, asked))
		asked = ""
	}
	return it
}

func parseMessage(m *a2a.Message, asked string) Intent {
	text := agents.MessageText(m)
	data := agents.MessageData(m)
	if data == nil && strings.HasPrefix(strings.TrimSpace(text), "{") {
		var obj map[string]any
		if json.Unmarshal([]byte(text), &obj) == nil {
			data, text = obj, ""
		}
	}
	it := parseText(text, asked)
	if s, ok := m.Metadata["skill"].(string); ok && s != "" {
		it.Skill = s
	}
	if data != nil {
		it.merge(intentFromData(data))
	}
	return it
}

// merge lays o over it: fields o sets win.
func (it *Intent) merge(o Intent) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&it.Skill, o.Skill)
	set(&it.Namespace, o.Namespace)
	if o.Name != "" {
		it.Name, it.Kind, it.FromText = o.Name, o.Kind, o.FromText
	}
	set(&it.Window, o.Window)
	if len(o.Data) > 0 {
		if it.Data == nil {
			it.Data = map[string]any{}
		}
		for k, v := range o.Data {
			it.Data[k] = v
		}
	}
}

func intentFromData(d map[string]any) Intent {
	str := func(k string) string { s, _ := d[k].(string); return strings.TrimSpace(s) }
	it := Intent{Skill: str("skill"), Namespace: str("namespace"), Window: str("window"), Data: d}
	switch {
	case str("rollout") != "":
		it.Kind, it.Name = "rollout", str("rollout")
		if it.Skill == "" {
			it.Skill = SkillAnalyzeCanary
		}
	case str("workload") != "":
		it.Kind, it.Name = splitKind(str("workload"))
		if it.Skill == "" {
			it.Skill = SkillInvestigateService
		}
	}
	return it
}

var kindWords = map[string]string{
	"rollout": "rollout", "rollouts": "rollout", "ro": "rollout",
	"deployment": "deployment", "deployments": "deployment", "deploy": "deployment",
	"statefulset": "statefulset", "statefulsets": "statefulset", "sts": "statefulset",
	"daemonset": "daemonset", "daemonsets": "daemonset", "ds": "daemonset",
}

// objectWords introduce a name without saying its kind.
var objectWords = map[string]bool{"service": true, "svc": true, "workload": true, "app": true, "application": true}

var canaryWords = map[string]bool{"canary": true, "analyze": true, "analyse": true, "judge": true, "promote": true, "promoted": true}

var investigateWords = map[string]bool{"investigate": true, "health": true, "healthy": true, "check": true, "diagnose": true,
	"inspect": true, "troubleshoot": true, "debug": true, "status": true, "look": true, "failing": true, "broken": true}

// stopWords are never names.
var stopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`the a an of for in on at to into please can could would you me my is are it its what which how
		and or with from by about there this that these those i we our your be should determine use tools fetch compare vs
		versus now going whats why down up error errors doing pod pods logs log metrics stable selector namespace ns hello
		hi hey thanks thank ok okay yes no run runs running last past over window within minutes minute hours hour days day
		new old again tell give show get see let lets do does did role if then additional context test task message`) {
		stopWords[w] = true
	}
	for w := range kindWords {
		stopWords[w] = true
	}
	for w := range objectWords {
		stopWords[w] = true
	}
	for w := range canaryWords {
		stopWords[w] = true
	}
	for w := range investigateWords {
		stopWords[w] = true
	}
}

var reName = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$`)

// isName reports a plausible Kubernetes object name that is not an ordinary word of a request.
func isName(w string) bool {
	return reName.MatchString(w) && !stopWords[w] && !reDuration.MatchString(w)
}

var (
	reDuration = regexp.MustCompile(`^\d+(s|m|h|d)$`)
	reWindow   = regexp.MustCompile(`(?i)\b(?:last|past|over|window|within)\s*[:=]?\s*(\d+)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)\b`)
)

// window reads "over the last 2 hours" / "window 30m" as a Go duration ("2h", "30m"); days become hours.
func window(text string) string {
	m := reWindow.FindStringSubmatch(strings.ReplaceAll(text, " the ", " "))
	if m == nil {
		return ""
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n <= 0 || n > 24*90 {
		return ""
	}
	switch u := strings.ToLower(m[2]); {
	case strings.HasPrefix(u, "d"):
		return strconv.Itoa(n*24) + "h"
	case strings.HasPrefix(u, "h"):
		return strconv.Itoa(n) + "h"
	case strings.HasPrefix(u, "m"):
		return strconv.Itoa(n) + "m"
	default:
		return strconv.Itoa(n) + "s"
	}
}

// words lowercases text and splits it into tokens, with "namespace: shop" / "ns=shop" split apart and
// quotes and sentence punctuation removed.
func words(text string) []string {
	text = strings.ToLower(text)
	text = strings.NewReplacer(":", " ", "=", " ", ",", " ", ";", " ", "(", " ", ")", " ", "?", " ", "!", " ").Replace(text)
	var out []string
	for _, w := range strings.Fields(text) {
		w = strings.Trim(w, `'"`+"`"+`.`)
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}

func splitKind(ref string) (kind, name string) {
	if k, n, ok := strings.Cut(ref, "/"); ok {
		if kind, known := kindWords[strings.ToLower(k)]; known {
			return kind, n
		}
	}
	return "", ref
}
