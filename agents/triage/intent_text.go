package triage

import "strings"

// parseText reads a plain-text request. Understood: "ns/name", "ns/kind/name", kind prefixes
// ("rollout/web", "deployment api"), "shop in namespace default", "rollout colors in shop", "the canary
// of colors", "namespace: shop", windows ("over the last 2h"), and the Argo metric plugin's prompt. When
// the agent asked for one slot, a bare answer ("default") fills it.
func parseText(text, asked string) Intent {
	var it Intent
	ws := words(text)
	if len(ws) == 0 {
		return it
	}
	it.Window = window(text)
	if asked == askNamespace || asked == askName {
		if bare := bareAnswer(ws); bare != "" {
			if asked == askNamespace && !strings.Contains(bare, "/") {
				it.Namespace = bare
				return it
			}
			it.objectRef(bare)
			it.FromText = true
			return it
		}
	}
	for _, w := range ws {
		switch {
		case canaryWords[w]:
			it.Skill = SkillAnalyzeCanary
		case investigateWords[w] && it.Skill == "":
			it.Skill = SkillInvestigateService
		}
	}
	used := it.explicit(ws)
	if it.Skill == "" && it.Name == "" && it.Namespace == "" && asked == "" {
		return it // nothing says this is about a workload: leave it to a question
	}
	it.implicit(ws, used)
	if it.Name != "" {
		it.FromText = true
	}
	if it.Skill == "" && it.Kind == "rollout" {
		it.Skill = SkillAnalyzeCanary
	}
	return it
}

// bareAnswer is the one name in a short answer ("default", "it's in default", "shop/web").
func bareAnswer(ws []string) string {
	var names []string
	for _, w := range ws {
		if isName(w) || isRef(w) {
			names = append(names, w)
		}
	}
	if len(names) == 1 && len(ws) <= 6 {
		return names[0]
	}
	return ""
}

func isRef(w string) bool {
	parts := strings.Split(w, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return false
	}
	for _, p := range parts {
		if !reName.MatchString(p) {
			return false
		}
	}
	return true
}

// objectRef reads "ns/name", "kind/name", "ns/kind/name" or "name".
func (it *Intent) objectRef(ref string) {
	parts := strings.Split(ref, "/")
	switch len(parts) {
	case 1:
		it.Kind, it.Name = "", parts[0]
	case 2:
		if k, ok := kindWords[parts[0]]; ok {
			it.Kind, it.Name = k, parts[1]
		} else {
			it.Namespace, it.Kind, it.Name = parts[0], "", parts[1]
		}
	case 3:
		it.Namespace = parts[0]
		it.Kind, it.Name = kindWords[parts[1]], parts[2]
	}
}

// explicit reads the forms that say what a word is: references with slashes, "namespace X", "X
// namespace", "<kind> X", "service X". It returns the indexes it consumed.
func (it *Intent) explicit(ws []string) map[int]bool {
	used := map[int]bool{}
	next := func(i int) (string, bool) {
		if i+1 < len(ws) && isName(ws[i+1]) {
			return ws[i+1], true
		}
		return "", false
	}
	for i, w := range ws {
		switch {
		case isRef(w) && it.Name == "":
			it.objectRef(w)
			used[i] = true
		case (w == "namespace" || w == "ns") && it.Namespace == "":
			if n, ok := next(i); ok {
				it.Namespace = n
				used[i+1] = true
			}
		case !used[i] && isName(w) && it.Namespace == "" && i+1 < len(ws) && ws[i+1] == "namespace" && !(i+2 < len(ws) && isName(ws[i+2])):
			it.Namespace = w // "in the shop namespace"
			used[i] = true
		case kindWords[w] != "" && it.Name == "":
			if n, ok := next(i); ok {
				it.Kind, it.Name = kindWords[w], n
				used[i+1] = true
			}
		case objectWords[w] && it.Name == "":
			if n, ok := next(i); ok {
				it.Name = n
				used[i+1] = true
			}
		}
	}
	return used
}

// implicit reads what position implies: "in X" is a namespace, "of X" / "for X" the object, and a
// remaining lone name in a short request the object ("investigate shop").
func (it *Intent) implicit(ws []string, used map[int]bool) {
	for i := 0; i+1 < len(ws); i++ {
		n := ws[i+1]
		if used[i+1] || !isName(n) {
			continue
		}
		switch ws[i] {
		case "in":
			if it.Namespace == "" {
				it.Namespace = n
				used[i+1] = true
			}
		case "of", "for":
			if it.Name == "" {
				it.Name = n
				used[i+1] = true
			}
		}
	}
	if it.Name != "" || len(ws) > 8 {
		return
	}
	for i, w := range ws {
		if !used[i] && isName(w) && w != it.Namespace {
			it.Name = w
			return
		}
	}
}
