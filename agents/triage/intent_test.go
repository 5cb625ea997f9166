package triage

import (
	"reflect"
	"testing"

	"github.com/a2aproject/a2a-go/v2/a2a"

	"github.com/fixloop/fixloop/agents"
)

func TestParseTextUnderstandsTheDocumentedForms(t *testing.T) {
	cases := []struct {
		text, asked string
		want        Intent
	}{
		{"default/shop", "", Intent{Namespace: "default", Name: "shop"}},
		{"investigate service default/shop", "", Intent{Skill: SkillInvestigateService, Namespace: "default", Name: "shop"}},
		{"shop in namespace default", "", Intent{Namespace: "default", Name: "shop"}},
		{"rollout colors in shop", "", Intent{Skill: SkillAnalyzeCanary, Namespace: "shop", Kind: "rollout", Name: "colors"}},
		{"the canary of colors", "", Intent{Skill: SkillAnalyzeCanary, Name: "colors"}},
		{"investigate rollout/web", "", Intent{Skill: SkillInvestigateService, Kind: "rollout", Name: "web"}},
		{"check deployment/api in the payments namespace", "", Intent{Skill: SkillInvestigateService, Namespace: "payments", Kind: "deployment", Name: "api"}},
		{"investigate shop/statefulset/db over the last 2 days", "", Intent{Skill: SkillInvestigateService, Namespace: "shop", Kind: "statefulset", Name: "db", Window: "48h"}},
		{"investigate shop", "", Intent{Skill: SkillInvestigateService, Name: "shop"}},
		{"Analyze canary deployment for rollout 'checkout-v2'. Namespace: shop. Use your tools to fetch and compare logs from stable pods (selector: role=stable) vs canary pods (selector: role=canary). Determine if canary should be promoted.",
			"", Intent{Skill: SkillAnalyzeCanary, Namespace: "shop", Kind: "rollout", Name: "checkout-v2"}},
		{"Hello", "", Intent{}},
		{"Test task for listing", "", Intent{}},
		{"default", askNamespace, Intent{Namespace: "default"}},
		{"it's in default", askNamespace, Intent{Namespace: "default"}},
		{"web", askName, Intent{Name: "web"}},
		{"rollout/web", askName, Intent{Kind: "rollout", Name: "web"}},
	}
	for _, c := range cases {
		got := parseText(c.text, c.asked)
		got.Data, got.FromText = nil, false
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("parseText(%q, asked=%q) = %+v, want %+v", c.text, c.asked, got, c.want)
		}
	}
}

func userMsg(parts ...*a2a.Part) *a2a.Message { return a2a.NewMessage(a2a.MessageRoleUser, parts...) }

func TestIntentMergesTheAnswerWithTheRequest(t *testing.T) {
	question := a2a.NewMessage(a2a.MessageRoleAgent, a2a.NewTextPart("Which namespace is shop in?"))
	question.Metadata = map[string]any{agents.AskedKey: askNamespace}
	conv := []*a2a.Message{userMsg(a2a.NewTextPart("investigate shop")), question, userMsg(a2a.NewTextPart("default"))}
	got := intentOf(conv)
	if got.Skill != SkillInvestigateService || got.Namespace != "default" || got.Name != "shop" {
		t.Fatalf("merged intent = %+v", got)
	}
	// Without the question, a bare "default" is read as a name, not a namespace.
	if got := intentOf(conv[2:]); got.Namespace != "" {
		t.Fatalf("bare word without a question read as namespace: %+v", got)
	}
}

func TestIntentTakesExplicitDataFields(t *testing.T) {
	m := userMsg(a2a.NewTextPart("please look at this"), a2a.NewDataPart(map[string]any{"namespace": "shop", "workload": "deployment/api", "window": "1h"}))
	got := intentOf([]*a2a.Message{m})
	if got.Skill != SkillInvestigateService || got.Namespace != "shop" || got.Kind != "deployment" || got.Name != "api" || got.FromText {
		t.Fatalf("intent = %+v", got)
	}
	var in InvestigateInput
	if err := got.skillInput(&in); err != nil || in.Workload != "deployment/api" || in.Window != "1h" || in.Namespace != "shop" {
		t.Fatalf("skill input = %+v, %v", in, err)
	}
	// A later message overrides the namespace only.
	got = intentOf([]*a2a.Message{m, userMsg(a2a.NewDataPart(map[string]any{"namespace": "prod"}))})
	if got.Namespace != "prod" || got.Name != "api" {
		t.Fatalf("override = %+v", got)
	}
}

func TestValidIntentDropsWhatWouldNotPassAsInput(t *testing.T) {
	got := validIntent(Intent{Skill: "rm -rf", Namespace: "Shop; drop", Kind: "pod", Name: "../etc", Window: "forever"})
	if !reflect.DeepEqual(got, Intent{}) {
		t.Fatalf("invalid model answer kept: %+v", got)
	}
	got = validIntent(Intent{Skill: SkillAnalyzeCanary, Namespace: "shop", Kind: "rollout", Name: "web", Window: "30m"})
	if got.Skill != SkillAnalyzeCanary || got.Namespace != "shop" || got.Kind != "rollout" || got.Name != "web" || got.Window != "30m" {
		t.Fatalf("valid model answer changed: %+v", got)
	}
}
