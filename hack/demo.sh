#!/usr/bin/env bash
# make demo: build fixloop and (once per machine) the local cluster's components, then run the loop.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v prometheus >/dev/null || { echo "installing Prometheus (Debian package) ..."; apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
echo "building fixloop ..."
make --no-print-directory build >/dev/null
# The first run on a machine builds the components (~15 min on 2 cores); later runs find them cached.
log=$(mktemp)
if ! ./hack/build-testenv.sh >/dev/null 2> >(tee "$log" | grep --line-buffered '^\[testenv-build\]' >&2); then
  echo "building the local cluster failed; the build's output:" >&2; cat "$log" >&2; exit 1
fi
rm -f "$log"
# The pull-request step runs OpenCode (npm opencode-ai, cached once per machine); without it the demo prints the plan.
if command -v npm >/dev/null; then
  echo "installing OpenCode for the fix step (npm, once per machine) ..."
  ./hack/install-opencode.sh >/dev/null || echo "OpenCode could not be installed: the demo will print the fixer's plan instead of opening a PR" >&2
fi
exec ./bin/fixloop demo "$@"
