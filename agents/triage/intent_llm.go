package triage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"

	"github.com/fixloop/fixloop/agents"
	"github.com/fixloop/fixloop/internal/llm"
	"github.com/fixloop/fixloop/internal/redact"
	"github.com/fixloop/fixloop/tools"
)

// intentFunctions are what the model may call: one function per skill, plus one for a request that is
// not about a workload. Single-type properties (no unions) so Gemini's schema dialect accepts them.
var intentFunctions = []llm.Function{
	{Name: SkillAnalyzeCanary, Description: "Judge an Argo Rollouts canary against its stable pods.", Parameters: objectSchema(map[string]any{
		"namespace": str("Kubernetes namespace, empty when not said"),
		"rollout":   str("name of the Argo Rollout, empty when not said"),
		"window":    str("time window as a Go duration like 30m or 2h, empty when not said"),
	})},
	{Name: SkillInvestigateService, Description: "Health of a Kubernetes workload over a time window.", Parameters: objectSchema(map[string]any{
		"namespace": str("Kubernetes namespace, empty when not said"),
		"kind":      map[string]any{"type": "string", "enum": []any{"rollout", "deployment", "statefulset", "daemonset", ""}},
		"name":      str("name of the workload, empty when not said"),
		"window":    str("time window as a Go duration like 30m or 2h, empty when not said"),
	})},
	{Name: notTriage, Description: "The request is not about a Kubernetes workload or canary.", Parameters: objectSchema(map[string]any{
		"reason": str("why no skill fits"),
	})},
}

const notTriage = "not_a_triage_request"

func str(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }

func objectSchema(props map[string]any) map[string]any {
	req := make([]any, 0, len(props))
	for k := range props {
		req = append(req, k)
	}
	slices.SortFunc(req, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
	return map[string]any{"type": "object", "properties": props, "required": req}
}

const intentSystem = `You map a request to fixloop's triage agent onto one skill by calling its function.
analyze_canary: judge an Argo Rollouts canary against its stable pods (namespace and rollout name).
investigate_service: health of a workload over a time window (namespace and workload name).
Only use names the user wrote; leave an argument empty when the user did not say it. Call
not_a_triage_request when the request is not about a Kubernetes workload.`

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
	resp, err := t.cfg.LLM.Complete(ctx, llm.Request{System: intentSystem, Prompt: "Request:\n" + text, Functions: intentFunctions,
		MaxOutputTokens: 200})
	if err != nil {
		t.log.Warn("LLM could not read the request; using the rules' reading", "err", err)
		return
	}
	got, err := intentOfCall(resp.Call)
	if err != nil {
		t.log.Warn("LLM function call ignored", "err", err)
		return
	}
	fillBlanks(it, validIntent(got))
}

// intentOfCall reads the model's function call as an intent (still unvalidated); a call of no skill
// function is an empty intent.
func intentOfCall(call *llm.FunctionCall) (Intent, error) {
	if call == nil {
		return Intent{}, errors.New("no function call")
	}
	var args struct{ Namespace, Rollout, Kind, Name, Window string }
	if err := json.Unmarshal(call.Args, &args); err != nil {
		return Intent{}, fmt.Errorf("arguments of %s are not the declared JSON: %w", call.Name, err)
	}
	switch call.Name {
	case SkillAnalyzeCanary:
		return Intent{Skill: call.Name, Namespace: args.Namespace, Kind: "rollout", Name: args.Rollout, Window: args.Window}, nil
	case SkillInvestigateService:
		return Intent{Skill: call.Name, Namespace: args.Namespace, Kind: args.Kind, Name: args.Name, Window: args.Window}, nil
	}
	return Intent{}, nil // not_a_triage_request, or a function fixloop never offered
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
