#!/bin/bash
# Runs every held-out case through `fixloop judge` and prints expected vs got (and the pass count).
# Usage: testdata/canary-heldout/run.sh [path/to/fixloop]
bin=${1:-bin/fixloop}
here=$(dirname "$0")
pass=0; total=0
for d in "$here"/*/; do
  c=$(basename "$d"); [ -f "$d/case.json" ] || continue
  args=(--stable "$d/stable.log" --canary "$d/canary.log")
  [ -f "$d/stable-metrics.json" ] && args+=(--stable-metrics "$d/stable-metrics.json" --canary-metrics "$d/canary-metrics.json")
  out=$("$bin" judge "${args[@]}" 2>/dev/null)
  got=$(printf '%s' "$out" | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["verdict"], v["confidence"], "|", (v.get("analysis") or "")[:110].replace("\n"," "))')
  want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["expect"])' "$d/case.json")
  total=$((total+1)); mark=FAIL
  [ "${got%% *}" = "$want" ] && { pass=$((pass+1)); mark=ok; }
  printf '%-4s %-34s want %-12s got %s\n' "$mark" "$c" "$want" "$got"
done
echo "passed $pass/$total"
