package triage

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fixloop/fixloop/tools"
)

// Question is an input-required answer: the precise question, what it asks for, the names fixloop
// can see in the cluster that would answer it, and what it understood so far.
type Question struct {
	Ask        string   `json:"ask"`
	Question   string   `json:"question"`
	Candidates []string `json:"candidates,omitempty"`
	Understood Intent   `json:"understood"`
}

const maxCandidates = 20

// resolve completes the intent's skill and says what is still missing. A nil Question means the skill
// can run. Cluster reads only add candidates and catch misspelt names; without a cluster the request
// runs on what was given (the skill then reports what it could not read).
func (t *Triage) resolve(ctx context.Context, it *Intent) *Question {
	d := t.cfg.Tools
	if it.Skill == "" && it.Name == "" && !hasSelectors(it) {
		if it.Namespace != "" {
			ws, _ := tools.ListWorkloads(ctx, d, it.Namespace)
			return t.ask(it, askName, fmt.Sprintf("What should I look at in namespace %s? Name a rollout to judge its canary "+
				"(\"the canary of web\") or a workload to investigate (\"investigate deployment/api\").", it.Namespace), ws)
		}
		nss, _ := tools.ListNamespaces(ctx, d)
		return t.ask(it, askRequest, "What should I look at? Name a rollout and its namespace to judge its canary (\"the canary of "+
			"checkout in shop\", or shop/checkout), or a workload to investigate (\"investigate deployment/api in namespace shop\").", nss)
	}
	if it.Skill == "" {
		it.Skill = SkillInvestigateService
		if it.Kind == "rollout" {
			it.Skill = SkillAnalyzeCanary
		}
	}
	if it.Namespace == "" {
		return t.askNamespace(ctx, it)
	}
	if it.Name == "" && !hasSelectors(it) {
		return t.askObject(ctx, it, "")
	}
	if it.FromText {
		return t.checkExists(ctx, it)
	}
	return nil
}

func hasSelectors(it *Intent) bool {
	s, _ := it.Data["stableSelector"].(string)
	c, _ := it.Data["canarySelector"].(string)
	return s != "" && c != ""
}

func (t *Triage) ask(it *Intent, slot, q string, candidates []string) *Question {
	if len(candidates) > maxCandidates {
		candidates = candidates[:maxCandidates]
	}
	if len(candidates) > 0 {
		q += " I can see: " + strings.Join(candidates, ", ") + "."
	}
	return &Question{Ask: slot, Question: q, Candidates: candidates, Understood: *it}
}

func (t *Triage) askNamespace(ctx context.Context, it *Intent) *Question {
	what := objectText(it)
	if it.Name == "" {
		nss, _ := tools.ListNamespaces(ctx, t.cfg.Tools)
		return t.ask(it, askNamespace, "Which namespace?", nss)
	}
	kind := it.Kind
	if it.Skill == SkillAnalyzeCanary {
		kind = "rollout"
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second) // one list per namespace: bound the whole scan
	defer cancel()
	found, err := tools.NamespacesWith(ctx, t.cfg.Tools, kind, it.Name)
	if err == nil && len(found) == 0 {
		nss, _ := tools.ListNamespaces(ctx, t.cfg.Tools)
		return t.ask(it, askNamespace, fmt.Sprintf("Which namespace is %s in? I found no %s in any namespace I can read.", what, what), nss)
	}
	return t.ask(it, askNamespace, fmt.Sprintf("Which namespace is %s in?", what), found)
}

// askObject asks for the rollout (analyze_canary) or workload (investigate_service) in the namespace;
// problem, when set, says what was wrong with the name given.
func (t *Triage) askObject(ctx context.Context, it *Intent, problem string) *Question {
	if it.Skill == SkillAnalyzeCanary {
		ros, _ := tools.ListRollouts(ctx, t.cfg.Tools, it.Namespace)
		return t.ask(it, askName, problem+fmt.Sprintf("Which rollout in namespace %s should I analyze?", it.Namespace), ros)
	}
	ws, _ := tools.ListWorkloads(ctx, t.cfg.Tools, it.Namespace)
	return t.ask(it, askName, problem+fmt.Sprintf("Which workload in namespace %s should I investigate?", it.Namespace), ws)
}

// checkExists asks again when the cluster is readable and does not have what the text named (a typo
// should cost a question, not a five-minute inconclusive analysis).
func (t *Triage) checkExists(ctx context.Context, it *Intent) *Question {
	d := t.cfg.Tools
	nss, err := tools.ListNamespaces(ctx, d)
	if err != nil {
		return nil
	}
	if !slices.Contains(nss, it.Namespace) {
		q := t.askNamespace(ctx, it)
		q.Question = fmt.Sprintf("There is no namespace %s. %s", it.Namespace, q.Question)
		return q
	}
	if it.Skill == SkillAnalyzeCanary {
		ros, err := tools.ListRollouts(ctx, d, it.Namespace)
		if err == nil && !slices.Contains(ros, it.Name) {
			return t.askObject(ctx, it, fmt.Sprintf("There is no rollout %s in namespace %s. ", it.Name, it.Namespace))
		}
		return nil
	}
	ws, err := tools.ListWorkloads(ctx, d, it.Namespace)
	if err != nil {
		return nil
	}
	for _, w := range ws {
		k, n, _ := strings.Cut(w, "/")
		if n == it.Name && (it.Kind == "" || k == it.Kind) {
			return nil
		}
	}
	return t.askObject(ctx, it, fmt.Sprintf("There is no %s in namespace %s. ", objectText(it), it.Namespace))
}

func objectText(it *Intent) string {
	if it.Kind != "" {
		return it.Kind + " " + it.Name
	}
	return it.Name
}

// skillInput is the skill's JSON input: the explicit fields, with what the conversation established.
func (it *Intent) skillInput(v any) error {
	m := map[string]any{}
	for k, val := range it.Data {
		m[k] = val
	}
	m["namespace"] = it.Namespace
	if it.Window != "" {
		m["window"] = it.Window
	}
	if it.Name != "" {
		if it.Skill == SkillAnalyzeCanary {
			m["rollout"] = it.Name
		} else if it.Kind != "" {
			m["workload"] = it.Kind + "/" + it.Name
		} else {
			m["workload"] = it.Name
		}
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("input does not match the %s skill's schema: %w", it.Skill, err)
	}
	return nil
}
