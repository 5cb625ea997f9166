#!/usr/bin/env bash
# Configures git/gh from a token and the model from the environment, then runs `opencode serve`.
#   GH_TOKEN | GITHUB_TOKEN       token for git push and `gh pr create` (required to open PRs)
#   GH_HOST                       GitHub Enterprise host (default github.com)
#   FIXLOOP_LLM_BASE_URL          OpenAI-compatible endpoint (e.g. http://ollama:11434/v1) ...
#   FIXLOOP_LLM_API_KEY, FIXLOOP_LLM_MODEL
#   GEMINI_API_KEY | GOOGLE_API_KEY  ... or Gemini (model FIXLOOP_LLM_MODEL, default gemini-2.5-flash)
#   OPENCODE_CONFIG               a config file of your own instead (mounted); skips generation
#   PORT                          listen port (default 4096)
set -euo pipefail

export GH_TOKEN="${GH_TOKEN:-${GITHUB_TOKEN:-}}"
git config --global user.name "${GIT_AUTHOR_NAME:-fixloop-bot}"
git config --global user.email "${GIT_AUTHOR_EMAIL:-fixloop-bot@users.noreply.github.com}"
if [ -n "$GH_TOKEN" ]; then
  # gh reads GH_TOKEN itself; setup-git makes plain `git push` over https use it too.
  gh auth setup-git --hostname "${GH_HOST:-github.com}" >/dev/null 2>&1 \
    || echo "warning: gh auth setup-git failed; git push over https may ask for credentials" >&2
else
  echo "warning: GH_TOKEN/GITHUB_TOKEN not set: the agent cannot push branches or open pull requests" >&2
fi

if [ -z "${OPENCODE_CONFIG:-}" ]; then
  cfg="$HOME/.config/opencode/fixloop.json"
  mkdir -p "$(dirname "$cfg")"
  perm='"permission":{"edit":"allow","bash":"allow","webfetch":"deny","external_directory":"allow"}'
  if [ -n "${FIXLOOP_LLM_BASE_URL:-}" ]; then
    model="${FIXLOOP_LLM_MODEL:?set FIXLOOP_LLM_MODEL with FIXLOOP_LLM_BASE_URL}"
    cat >"$cfg" <<JSON
{"autoupdate":false,"share":"disabled","model":"fixloop/$model","small_model":"fixloop/$model","enabled_providers":["fixloop"],$perm,
 "provider":{"fixloop":{"npm":"@ai-sdk/openai-compatible","name":"fixloop","options":{"baseURL":"$FIXLOOP_LLM_BASE_URL","apiKey":"${FIXLOOP_LLM_API_KEY:-none}"},
 "models":{"$model":{"name":"$model","tool_call":true,"limit":{"context":128000,"output":8192}}}}}}
JSON
  elif [ -n "${GEMINI_API_KEY:-${GOOGLE_API_KEY:-}}" ]; then
    export GOOGLE_GENERATIVE_AI_API_KEY="${GEMINI_API_KEY:-$GOOGLE_API_KEY}"
    model="${FIXLOOP_LLM_MODEL:-gemini-2.5-flash}"
    cat >"$cfg" <<JSON
{"autoupdate":false,"share":"disabled","model":"google/$model","small_model":"google/$model","enabled_providers":["google"],$perm}
JSON
  else
    echo "error: no model configured: set FIXLOOP_LLM_BASE_URL + FIXLOOP_LLM_MODEL, or GEMINI_API_KEY, or mount OPENCODE_CONFIG" >&2
    exit 2
  fi
  export OPENCODE_CONFIG="$cfg"
fi

# OpenCode's project root is the git repository it starts in; the work dir holds the fixer's clones.
cd /var/lib/fixloop/work
[ -d .git ] || git init -q .
exec opencode-server serve --port "${PORT:-4096}" --hostname 0.0.0.0
