#!/usr/bin/env bash
# Installs OpenCode (npm opencode-ai) into a cache outside the clone, keyed by version, and prints the
# path of the platform binary, which callers run directly (the npm wrapper script adds nothing we need).
#   FIXLOOP_CACHE     cache root (default ~/.cache/fixloop)
#   OPENCODE_VERSION  npm version (default 1.18.33, the one fixloop's tests are written against)
# Safe to re-run: an existing install is reused. Exit status 0 and one line on stdout = the binary path.
set -euo pipefail

OPENCODE_VERSION=${OPENCODE_VERSION:-1.18.33}
CACHE=${FIXLOOP_CACHE:-$HOME/.cache/fixloop}
DIR=$CACHE/opencode-$OPENCODE_VERSION

log() { printf '[install-opencode] %s\n' "$*" >&2; }

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) PLATFORM=linux-x64 ;;
  Linux-aarch64 | Linux-arm64) PLATFORM=linux-arm64 ;;
  Darwin-x86_64) PLATFORM=darwin-x64 ;;
  Darwin-arm64) PLATFORM=darwin-arm64 ;;
  *) log "unsupported platform $(uname -s)-$(uname -m)"; exit 1 ;;
esac
BIN=$DIR/node_modules/opencode-$PLATFORM/bin/opencode

# OpenCode shells out to ripgrep and downloads one when missing, which fails offline.
if ! command -v rg >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing ripgrep (apt)"
    apt-get install -y --no-install-recommends ripgrep >/dev/null 2>&1 \
      || { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends ripgrep >/dev/null 2>&1; } \
      || log "warning: could not install ripgrep; OpenCode will try to download it"
  else
    log "warning: ripgrep (rg) not found; install it (apt-get install ripgrep) or OpenCode will try to download it"
  fi
fi

if [ ! -x "$BIN" ]; then
  command -v npm >/dev/null 2>&1 || { log "npm not found: install Node.js/npm to fetch opencode-ai"; exit 1; }
  log "installing opencode-ai@$OPENCODE_VERSION into $DIR"
  tmp=$DIR.tmp.$$
  rm -rf "$tmp" && mkdir -p "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && printf '{"name":"fixloop-opencode","private":true}\n' >package.json \
    && npm install --no-audit --no-fund --loglevel=error "opencode-ai@$OPENCODE_VERSION" >&2)
  [ -x "$tmp/node_modules/opencode-$PLATFORM/bin/opencode" ] \
    || { log "npm install finished but opencode-$PLATFORM/bin/opencode is missing"; exit 1; }
  rm -rf "$DIR" && mv "$tmp" "$DIR"
  trap - EXIT
fi

echo "$BIN"
