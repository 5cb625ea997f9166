package triage

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"

	"github.com/fixloop/fixloop/agents"
	"github.com/fixloop/fixloop/internal/llm"
	"github.com/fixloop/fixloop/internal/redact"
	"github.com/fixloop/fixloop/tools"
)

// intentSchema is the function the model fills: which skill and which object. Single-type properties
// (no unions) so Gemini's schema dialect accepts it.
var intentSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"skill":     map[string]any{"type": "string", "enum": []any{SkillAnalyzeCanary, SkillInvestigateService, "unknown"}},
		"namespace": map[string]any{"type": "string", "description": "Kubernetes namespace, empty when not said"},
		"kind":      map[string]any{"type": "string", "enum": []any{"rollout", "deployment", "statefulset", "daemonset", ""}},
		"name":      map[string]any{"type": "string", "description": "name of the rollout or workload, empty when not said"},
		"window":    map[string]any{"type": "string", "description": "time window as a Go duration like 30m or 2h, empty when not said"},
	},
	"required": []any{"skill", "namespace", "kind", "name", "window"},
}

const intentSystem = `You map a request to fixloop's triage agent onto one skill and its parameters.
analyze_canary: judge an Argo Rollouts canary against its stable pods (needs namespace and rollout name).
investigate_service: health of a workload over a time window (needs namespace and workload name).
Only use names the user wrote; leave a field empty when the user did not say it. Answer "unknown" when the
request is not about a Kubernetes workload.`

// completeWithLLM fills what the rules left blank from the configured model, when there is one. The
// answer is validated like user input (names, kinds, windows) and never overrides what was said
// explicitly; a failing model only means the rules' reading stands.
func (t *Triage) completeWithLLM(ctx context.Context, it *Intent, conv []*a2a.Message) {
	if t.cfg.LLM == nil || (it.Skill != "" && it.Name != "" && it.Namespace != "") {
		return
	}
	var texts []string
	for _, m := range conv {
		if m.Role == a2a.MessageRoleUser {
			texts = append(texts, agents.MessageText(m))
		}
	}
	text := strings.TrimSpace(strings.Join(texts, "\n"))
	if text == "" {
		return
	}
	red := t.cfg.Tools.Redactor
	if red == nil {
		red = redact.Default()
	}
	text = llm.Truncate(red.String(text), 1000) // the model sees no secret a user pasted
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := t.cfg.LLM.Complete(ctx, llm.Request{System: intentSystem, Prompt: "Request:\n" + text, Schema: intentSchema,
		SchemaName: "triage_request", MaxOutputTokens: 200})
	if err != nil {
		t.log.Warn("LLM could not read the request; using the rules' reading", "err", err)
		return
	}
	var got Intent
	if err := json.Unmarshal([]byte(resp.Text), &got); err != nil {
		t.log.Warn("LLM answer is not the requested JSON; ignored", "err", err)
		return
	}
	fillBlanks(it, validIntent(got))
}

// validIntent drops every field that would not pass as user input.
func validIntent(got Intent) Intent {
	var ok Intent
	if got.Skill == SkillAnalyzeCanary || got.Skill == SkillInvestigateService {
		ok.Skill = got.Skill
	}
	if n := strings.ToLower(got.Namespace); reName.MatchString(n) && len(n) <= 63 {
		ok.Namespace = n
	}
	if n := strings.ToLower(got.Name); reName.MatchString(n) {
		ok.Name, ok.FromText = n, true
		if slices.Contains(tools.WorkloadKinds, got.Kind) {
			ok.Kind = got.Kind
		}
	}
	if d, err := time.ParseDuration(got.Window); err == nil && d > 0 && d <= 90*24*time.Hour {
		ok.Window = got.Window
	}
	return ok
}

func fillBlanks(it *Intent, o Intent) {
	if it.Skill == "" {
		it.Skill = o.Skill
	}
	if it.Namespace == "" {
		it.Namespace = o.Namespace
	}
	if it.Name == "" && o.Name != "" {
		it.Name, it.Kind, it.FromText = o.Name, o.Kind, true
	}
	if it.Window == "" {
		it.Window = o.Window
	}
}
