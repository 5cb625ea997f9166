#!/usr/bin/env bash
# Configures the model from the environment, then runs `opencode serve` on 127.0.0.1 only: its API has
# no authentication, so only the fixer container of the same pod reaches it. It holds no GitHub token:
# the agent commits, and fixloop (the fixer container) pushes and opens the pull request.
#   FIXLOOP_LLM_BASE_URL          OpenAI-compatible endpoint (e.g. http://ollama:11434/v1) ...
#   FIXLOOP_LLM_API_KEY, FIXLOOP_LLM_MODEL
#   GEMINI_API_KEY | GOOGLE_API_KEY  ... or Gemini (model FIXLOOP_LLM_MODEL, default gemini-2.5-flash)
#   OPENCODE_CONFIG               a config file of your own instead (mounted); skips generation
#   PORT                          listen port (default 4096)
set -euo pipefail

unset GH_TOKEN GITHUB_TOKEN FIXLOOP_GITHUB_TOKEN
git config --global user.name "${GIT_AUTHOR_NAME:-fixloop-bot}"
git config --global user.email "${GIT_AUTHOR_EMAIL:-fixloop-bot@users.noreply.github.com}"
# No git hooks: a hook written by a steered agent would run outside OpenCode's permission rules.
git config --global core.hooksPath /dev/null

if [ -z "${OPENCODE_CONFIG:-}" ]; then
  cfg="$HOME/.config/opencode/fixloop.json"
  mkdir -p "$(dirname "$cfg")"
  # Same rules as internal/opencode.Permissions (a test keeps them equal): deny all but reading/editing in
  # the work tree and local git/go commands; no network tool, no push, nothing outside the work tree.
  perm='"permission":{"*":"deny","bash":{"*":"deny","git -c *":"deny","git add":"allow","git add *":"allow","git checkout":"allow","git checkout *":"allow","git clone *":"deny","git commit":"allow","git commit *":"allow","git config *":"deny","git credential *":"deny","git diff":"allow","git diff *":"allow","git fetch *":"deny","git log":"allow","git log *":"allow","git mv":"allow","git mv *":"allow","git push *":"deny","git remote *":"deny","git restore":"allow","git restore *":"allow","git rm":"allow","git rm *":"allow","git show":"allow","git show *":"allow","git status":"allow","git status *":"allow","git submodule *":"deny","git switch":"allow","git switch *":"allow","go build":"allow","go build *":"allow","go test":"allow","go test *":"allow","go vet":"allow","go vet *":"allow"},"doom_loop":"deny","edit":"allow","external_directory":"deny","glob":"allow","grep":"allow","list":"allow","read":"allow","todoread":"allow","todowrite":"allow","webfetch":"deny","websearch":"deny"}'
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
exec opencode-server serve --port "${PORT:-4096}" --hostname 127.0.0.1
