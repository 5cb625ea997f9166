package triage

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

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
					" Input (DataPart): {namespace, rollout, stableSelector?, canarySelector?, extraPrompt?, ignore?: [regex], repoUrl?, baseBranch?}. " +
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

// Executor is the A2A executor.
func (t *Triage) Executor() a2asrv.AgentExecutor {
	return agents.NewExecutor(func(ctx context.Context, in agents.Input, progress agents.Progress) (*agents.Output, error) {
		skill, err := pickSkill(in)
		if err != nil {
			return nil, err
		}
		switch skill {
		case SkillInvestigateService:
			var req InvestigateInput
			if err := in.Decode(&req); err != nil {
				return nil, err
			}
			fillFromText(in.Text, &req.Namespace, nil, &req.Workload, &req.Window)
			res, err := t.InvestigateService(ctx, req, Progress(progress))
			if err != nil {
				return nil, err
			}
			return &agents.Output{Data: res, Summary: res.Summary(), ArtifactName: SkillInvestigateService}, nil
		default:
			var req AnalyzeInput
			if err := in.Decode(&req); err != nil {
				return nil, err
			}
			fillFromText(in.Text, &req.Namespace, &req.Rollout, nil, nil)
			res, err := t.AnalyzeCanary(ctx, req, string(in.TaskID), Progress(progress))
			if err != nil {
				return nil, err
			}
			return &agents.Output{Data: res, Summary: res.Summary(), ArtifactName: SkillAnalyzeCanary}, nil
		}
	})
}

func pickSkill(in agents.Input) (string, error) {
	if in.Data != nil {
		if s, ok := in.Data["skill"].(string); ok && s != "" {
			if s != SkillAnalyzeCanary && s != SkillInvestigateService {
				return "", fmt.Errorf("unknown skill %q (known: %s, %s)", s, SkillAnalyzeCanary, SkillInvestigateService)
			}
			return s, nil
		}
		if _, ok := in.Data["workload"]; ok {
			return SkillInvestigateService, nil
		}
		if _, ok := in.Data["rollout"]; ok {
			return SkillAnalyzeCanary, nil
		}
	}
	if in.Message != nil {
		if s, ok := in.Message.Metadata["skill"].(string); ok && s != "" {
			return s, nil
		}
	}
	low := strings.ToLower(in.Text)
	switch {
	case strings.Contains(low, "investigate") || strings.Contains(low, "health") || strings.Contains(low, "workload"):
		return SkillInvestigateService, nil
	case strings.Contains(low, "canary") || strings.Contains(low, "rollout"):
		return SkillAnalyzeCanary, nil
	}
	if in.Data == nil && strings.TrimSpace(in.Text) == "" {
		return "", errors.New("empty request: send a DataPart like {\"namespace\":\"shop\",\"rollout\":\"checkout\"} or text naming the rollout and namespace")
	}
	return SkillAnalyzeCanary, nil
}

var (
	reNamespace = regexp.MustCompile(`(?i)\bnamespace[\s:=]+['"]?([a-z0-9][a-z0-9-]*)`)
	reInNS      = regexp.MustCompile(`(?i)\bin (?:namespace )?['"]?([a-z0-9][a-z0-9-]*)['"]?(?:\s+namespace)?\b`)
	reRollout   = regexp.MustCompile(`(?i)\brollout[\s:=]+['"]?([a-z0-9][a-z0-9.-]*)`)
	reWorkload  = regexp.MustCompile(`(?i)\b(?:service|workload|deployment|statefulset|daemonset)[\s:=]+['"]?([a-z0-9][a-z0-9./-]*)`)
	reWindow    = regexp.MustCompile(`(?i)\b(?:last|window|over)[\s:=]+(\d+[smhd])\b`)
)

// fillFromText fills empty fields from a plain-text request such as the Argo plugin's prompt
// "Analyze canary deployment for rollout 'web'. Namespace: shop. ...".
func fillFromText(text string, ns, rollout, workload, window *string) {
	if text == "" {
		return
	}
	set := func(dst *string, res ...*regexp.Regexp) {
		if dst == nil || *dst != "" {
			return
		}
		for _, re := range res {
			if m := re.FindStringSubmatch(text); m != nil {
				*dst = strings.Trim(m[1], `'".`)
				return
			}
		}
	}
	set(ns, reNamespace, reInNS)
	set(rollout, reRollout)
	set(workload, reWorkload)
	set(window, reWindow)
}
