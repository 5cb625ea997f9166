#!/usr/bin/env bash
# hack/demo-screenshot.sh REPORT_URL [OUT.png]: screenshot one verdict report of a running `make demo`
# (the URL it printed for a canary) with the headless Chromium the report tests use. The report route
# needs the demo's bearer token, which Chromium cannot send: the page is fetched with curl and the
# same HTML (inline styles and SVG charts, nothing else to load) is rendered from a file.
set -euo pipefail
cd "$(dirname "$0")/.."
url=${1:?usage: hack/demo-screenshot.sh REPORT_URL [OUT.png]}
out=${2:-docs/report.png}
dir=${FIXLOOP_TESTENV_DIR:-.testenv}
case "$url" in http://127.0.0.1:*/reports/* | http://localhost:*/reports/*) ;; *)
  echo "not a local demo report URL: $url" >&2; exit 2 ;;
esac
chromium=$(command -v chromium || command -v chromium-browser || command -v google-chrome) ||
  { echo "headless Chromium not found: apt-get install chromium" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsS --max-time 30 --max-filesize 8000000 -H "Authorization: Bearer $(cat "$dir/token")" "$url" -o "$tmp/report.html"
"$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --disable-background-networking \
  --user-data-dir="$tmp/profile" --force-device-scale-factor="${SCALE:-0.8}" --window-size="${WIDTH:-1100},${HEIGHT:-1130}" --screenshot="$tmp/shot.png" \
  "file://$tmp/report.html" 2>/dev/null
mv "$tmp/shot.png" "$out"
echo "$out: $(wc -c <"$out") bytes, from $url"
