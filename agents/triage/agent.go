package triage

import (
	"context"
	"fmt"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2asrv"

	"github.com/fixloop/fixloop/agents"
	"github.com/fixloop/fixloop/skills"
)

// Skill ids.
const (
	SkillAnalyzeCanary      = "analyze_canary"
	SkillInvestigateService = "investigate_service"
)

// Card is the triage agent's A2A card (the host fills in URLs and security schemes).
func Card() *a2a.AgentCard {
	desc := func(name, fallback string) string {
		if s, ok := skills.Get(name); ok && s.Description != "" {
			return s.Description
		}
		return fallback
	}
	return &a2a.AgentCard{
		Name: "fixloop triage",
		Description: "Judges Argo Rollouts canaries against their stable pods (logs and Prometheus metrics), files one deduplicated " +
			"GitHub issue per failure with redacted evidence, hands fixes to the fixer agent, and investigates service health.",
		DocumentationURL:   "https://github.com/fixloop/fixloop#readme",
		DefaultInputModes:  []string{"application/json", "text/plain"},
		DefaultOutputModes: []string{"application/json", "text/plain"},
		Skills: []a2a.AgentSkill{
			{
				ID: SkillAnalyzeCanary, Name: "Analyze canary", Description: desc(SkillAnalyzeCanary, "Compare canary and stable pods; promote, abort or inconclusive.") +
					" Input (DataPart): {namespace, rollout, stableSelector?, canarySelector?, extraPrompt?, ignore?: [regex], mask?: [regex], repoUrl?, baseBranch?}; " +
					"patterns, intent and repository are trusted from configuration and the rollout's fixloop.dev/* annotations: a request's own patterns give a verdict only (no issue), its extraPrompt and repoUrl are not used. " +
					"Output: DataPart {verdict, promote, confidence, analysis, rootCause, remediation, evidence, fingerprint, issue?, fixerTaskId?, prLink?} and a text summary.",
				Tags:        []string{"argo-rollouts", "canary", "kubernetes", "triage"},
				InputModes:  []string{"application/json", "text/plain"},
				OutputModes: []string{"application/json", "text/plain"},
				Examples: []string{
					`{"skill":"analyze_canary","namespace":"shop","rollout":"checkout","repoUrl":"https://github.com/acme/shop"}`,
					"Analyze canary deployment for rollout 'checkout'. Namespace: shop.",
				},
			},
			{
				ID: SkillInvestigateService, Name: "Investigate service", Description: desc(SkillInvestigateService, "Health of a workload over a window.") +
					" Input (DataPart): {namespace, workload, window?: \"30m\"}. Output: DataPart {status, findings, logs, events, fixPlan} and a text summary.",
				Tags:        []string{"kubernetes", "health", "sre"},
				InputModes:  []string{"application/json", "text/plain"},
				OutputModes: []string{"application/json", "text/markdown", "text/plain"},
				Examples: []string{
					`{"skill":"investigate_service","namespace":"shop","workload":"deployment/api","window":"30m"}`,
					"Investigate service api in namespace shop over the last 1h",
				},
			},
		},
	}
}

// Agent returns the triage agent ready for agents.Host.Mount. It is resumable: analysis side effects are
// keyed by the task id (issue occurrence, fixer delegation per fingerprint).
func (t *Triage) Agent() agents.Agent {
	return agents.Agent{Name: "triage", Card: Card(), Executor: t.Executor(), Resumable: true}
}

// Executor is the A2A executor. It reads the whole conversation of the task (see Intent): a request
// missing its namespace or object ends input-required with a question and the candidates the cluster
// shows; the answer, sent to the same task, is merged with the request and the skill runs.
func (t *Triage) Executor() a2asrv.AgentExecutor {
	return agents.NewExecutor(func(ctx context.Context, in agents.Input, progress agents.Progress) (*agents.Output, error) {
		it := intentOf(in.Conversation)
		if err := checkSkill(it.Skill); err != nil {
			return nil, err
		}
		t.completeWithLLM(ctx, &it, in.Conversation)
		if q := t.resolve(ctx, &it); q != nil {
			return &agents.Output{State: a2a.TaskStateInputRequired, Ask: q.Ask, Summary: q.Question, Data: q}, nil
		}
		switch it.Skill {
		case SkillInvestigateService:
			var req InvestigateInput
			if err := it.skillInput(&req); err != nil {
				return nil, err
			}
			res, err := t.InvestigateService(ctx, req, Progress(progress))
			if err != nil {
				return nil, err
			}
			return &agents.Output{Data: res, Summary: res.Summary(), ArtifactName: SkillInvestigateService}, nil
		default:
			var req AnalyzeInput
			if err := it.skillInput(&req); err != nil {
				return nil, err
			}
			analyze := t.AnalyzeCanary
			if trigger, _ := in.Data["trigger"].(string); trigger == WatchTrigger {
				analyze = t.triageWatched // the rollout watcher's task: Argo already failed the revision
			}
			res, err := analyze(ctx, req, string(in.TaskID), Progress(progress))
			if err != nil {
				return nil, err
			}
			return &agents.Output{Data: res, Summary: res.Summary(), ArtifactName: SkillAnalyzeCanary}, nil
		}
	})
}

func checkSkill(s string) error {
	if s != "" && s != SkillAnalyzeCanary && s != SkillInvestigateService {
		return fmt.Errorf("unknown skill %q (known: %s, %s)", s, SkillAnalyzeCanary, SkillInvestigateService)
	}
	return nil
}

// fillFromText fills empty fields from a plain-text request such as the Argo plugin's prompt
// "Analyze canary deployment for rollout 'web'. Namespace: shop. ...".
func fillFromText(text string, ns, rollout, workload, window *string) {
	it := parseText(text, "")
	set := func(dst *string, v string) {
		if dst != nil && *dst == "" {
			*dst = v
		}
	}
	set(ns, it.Namespace)
	set(window, it.Window)
	if it.Kind == "" || it.Kind == "rollout" {
		set(rollout, it.Name)
	}
	if it.Kind != "" && it.Name != "" {
		set(workload, it.Kind+"/"+it.Name)
	} else {
		set(workload, it.Name)
	}
}
