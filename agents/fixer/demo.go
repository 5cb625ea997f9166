package fixer

import (
	"fmt"
	"strings"

	"github.com/fixloop/fixloop/internal/opencode"
	"github.com/fixloop/fixloop/internal/redact"
)

// EnableHelp explains how to turn the fix step on; printed when no model is configured.
func EnableHelp() string {
	return strings.TrimSpace(fmt.Sprintf(`
The fix step is off: no model is configured for OpenCode. To let fixloop's fixer open the pull request:
  1. Install OpenCode once: hack/install-opencode.sh   (npm opencode-ai@%s; needs ripgrep)
  2. Point it at a model, either
       export FIXLOOP_LLM_BASE_URL=http://127.0.0.1:11434/v1 FIXLOOP_LLM_MODEL=qwen2.5-coder   # any OpenAI-compatible server, e.g. Ollama
     or
       export GEMINI_API_KEY=...                    # Gemini through OpenCode's Google provider
  3. Re-run; or run against your own server: fixloop fix --opencode-url http://127.0.0.1:4096 ...
In a cluster: deploy manifests/opencode (OpenCode + the fixer agent) and set FIXLOOP_FIXER_AGENT_URL on fixloop.`, opencode.Version))
}

// PlanFor returns the exact prompt the fixer would hand to OpenCode for req (rules, fenced plan, delivery
// steps), for printing. Any well-formed owner/name is accepted here: nothing is cloned.
func PlanFor(req Request) (string, error) {
	if err := req.normalize(RepoPolicy{Allow: []string{"*/*"}}); err != nil {
		return "", err
	}
	plan := req.Plan
	if plan == "" {
		plan = BuildPlan(req)
	}
	return composePrompt(req, redact.Default().String(plan), BranchFor(req.Fingerprint), "", newNonce()), nil
}
