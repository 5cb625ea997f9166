#!/usr/bin/env bash
# Builds the real control-plane components the test environment runs, through the Go module proxy.
# Binaries land in $FIXLOOP_CACHE/testenv/<component>-<version>/ (default ~/.cache/fixloop), so only the
# first run on a machine pays the build. Safe to re-run: a component whose binary exists is skipped.
set -euo pipefail

ETCD_VERSION=${ETCD_VERSION:-v3.6.8}
K8S_VERSION=${K8S_VERSION:-v1.36.4}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
ROLLOUTS_VERSION=${ROLLOUTS_VERSION:-v1.8.3}
# Clients and apps under test that the module proxy does not serve: their source is in ../shared (beside
# the project root). Built only when it is there; the tests that need them say so when it is not.
METRIC_AI_COMMIT=12538eb
ROLLOUTS_DEMO_COMMIT=f528fdd
SHARED=${FIXLOOP_SHARED:-$(cd "$(dirname "$0")/.." && pwd)/../shared}

CACHE=${FIXLOOP_CACHE:-$HOME/.cache/fixloop}
OUT=$CACHE/testenv
# A private module/build cache: these builds pull gigabytes we do not want in the user's GOPATH.
export GOMODCACHE=${TESTENV_GOMODCACHE:-$CACHE/build/gomod}
export GOCACHE=${TESTENV_GOCACHE:-$CACHE/build/gocache}
export GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=${GOTOOLCHAIN:-local}
mkdir -p "$OUT" "$GOMODCACHE" "$GOCACHE"

log() { printf '[testenv-build] %s\n' "$*" >&2; }
have() { [ -x "$OUT/$1/$2" ]; }

# Copies `replace` directives of a module's own go.mod into a scratch module (they are not inherited).
copy_replaces() { # <go.mod of dependency> <scratch go.mod>
  awk '/^replace \(/{inblk=1;next} inblk&&/^\)/{inblk=0;next} inblk{print "replace " $0; next} /^replace /{print}' "$1" \
    | grep -v '=> \./' | grep -v '=> \.\./' >>"$2" || true
}

build_etcd() {
  local d=etcd-$ETCD_VERSION; have "$d" etcd && return 0
  log "building etcd $ETCD_VERSION"; local s; s=$(mktemp -d)
  (cd "$s" && go mod init scratch/etcd >/dev/null 2>&1
   gomod=$(go mod download -json "go.etcd.io/etcd/server/v3@$ETCD_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
   echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION" >>go.mod
   # etcd's server module replaces sibling modules with local paths; pin them to the same release instead.
   for m in api/v3 client/pkg/v3 client/v3 pkg/v3 raft/v3; do echo "replace go.etcd.io/etcd/$m => go.etcd.io/etcd/$m ${ETCD_VERSION}" >>go.mod; done
      printf 'package main\nimport _ "go.etcd.io/etcd/server/v3/etcdmain"\n' >tools.go
   go mod tidy >/dev/null 2>&1 || true
   mkdir -p "$OUT/$d.tmp" && go build -trimpath -ldflags "-s -w" -o "$OUT/$d.tmp/etcd" go.etcd.io/etcd/server/v3)
  mv "$OUT/$d.tmp" "$OUT/$d"; rm -rf "$s"
}

build_k8s() {
  local d=kubernetes-$K8S_VERSION
  have "$d" kube-apiserver && have "$d" kube-controller-manager && have "$d" kube-scheduler && return 0
  log "building kube-apiserver, kube-controller-manager, kube-scheduler $K8S_VERSION (a few minutes)"
  local s; s=$(mktemp -d); local staging=v0${K8S_VERSION#v1}
  (cd "$s" && go mod init scratch/k8s >/dev/null 2>&1
   gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
   echo "require k8s.io/kubernetes $K8S_VERSION" >>go.mod
   grep -o 'k8s.io/[a-z0-9-]* => ./staging' "$gomod" | awk '{print $1}' | sort -u | while read -r m; do
     echo "replace $m => $m $staging" >>go.mod; done
   printf 'package main\nimport (\n_ "k8s.io/kubernetes/cmd/kube-apiserver/app"\n_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"\n_ "k8s.io/kubernetes/cmd/kube-scheduler/app"\n)\n' >tools.go
   go mod tidy >/dev/null
   ld="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
   mkdir -p "$OUT/$d.tmp"
   for c in kube-apiserver kube-controller-manager kube-scheduler; do
     go build -trimpath -ldflags "$ld" -o "$OUT/$d.tmp/$c" "k8s.io/kubernetes/cmd/$c"; done)
  rm -rf "$OUT/$d"; mv "$OUT/$d.tmp" "$OUT/$d"; rm -rf "$s"
}

build_kwok() {
  local d=kwok-$KWOK_VERSION
  if ! have "$d" kwok; then
    log "building kwok $KWOK_VERSION"
    rm -rf "$OUT/$d.tmp"; mkdir -p "$OUT/$d.tmp"
    GOBIN="$OUT/$d.tmp" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
    rm -rf "$OUT/$d"; mv "$OUT/$d.tmp" "$OUT/$d"
  fi
  # kwok standalone has no built-in stages and needs its Logs CRD: both ship in its module source.
  if [ ! -f "$OUT/$d/crds/kwok.x-k8s.io_logs.yaml" ] || [ ! -d "$OUT/$d/stages" ]; then
    local dir; dir=$(cd /tmp && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
    mkdir -p "$OUT/$d/crds" "$OUT/$d/stages"
    cp "$dir"/kustomize/crd/bases/kwok.x-k8s.io_logs.yaml "$dir"/kustomize/crd/bases/kwok.x-k8s.io_clusterlogs.yaml "$OUT/$d/crds/"
    cp "$dir"/kustomize/stage/node/fast/node-initialize.yaml "$dir"/kustomize/stage/pod/fast/pod-*.yaml "$OUT/$d/stages/"
    chmod -R u+w "$OUT/$d"
  fi
}

build_rollouts() {
  local d=argo-rollouts-$ROLLOUTS_VERSION; have "$d" rollouts-controller && [ -d "$OUT/$d/crds" ] && return 0
  log "building the Argo Rollouts controller $ROLLOUTS_VERSION (a few minutes)"
  local s; s=$(mktemp -d)
  (cd "$s" && go mod init scratch/rollouts >/dev/null 2>&1
   info=$(go mod download -json "github.com/argoproj/argo-rollouts@$ROLLOUTS_VERSION")
   gomod=$(echo "$info" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p'); dir=$(echo "$info" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
   echo "require github.com/argoproj/argo-rollouts $ROLLOUTS_VERSION" >>go.mod
   copy_replaces "$gomod" go.mod
   # The controller is a main package (cannot be imported by a tools.go), so no `go mod tidy`:
   # -mod=mod lets go build fill go.sum from argo-rollouts' own requirement graph.
   mkdir -p "$OUT/$d.tmp/crds"
   go build -trimpath -ldflags "-s -w" -o "$OUT/$d.tmp/rollouts-controller" github.com/argoproj/argo-rollouts/cmd/rollouts-controller
   cp "$dir"/manifests/crds/*.yaml "$OUT/$d.tmp/crds/"; chmod -R u+w "$OUT/$d.tmp")
  rm -rf "$OUT/$d"; mv "$OUT/$d.tmp" "$OUT/$d"; rm -rf "$s"
}

# Builds a Go main package from a read-only source copy in ../shared through a writable scratch copy.
build_shared() { # <source dir> <cache dir name> <binary name> <commit>
  local src=$SHARED/$1 d=$2 bin=$3; have "$d" "$bin" && return 0
  grep -q "$4" "$src/ORIGIN.md" || { log "$src/ORIGIN.md does not name commit $4: update the pin"; return 1; }
  log "building $bin from $src"; local s; s=$(mktemp -d)
  cp -r "$src" "$s/src" && chmod -R u+w "$s/src"
  mkdir -p "$OUT/$d.tmp"
  (cd "$s/src" && go build -trimpath -ldflags "-s -w" -o "$OUT/$d.tmp/$bin" .)
  rm -rf "$OUT/$d"; mv "$OUT/$d.tmp" "$OUT/$d"; rm -rf "$s"
}
build_metric-ai() { build_shared rollouts-plugin-metric-ai "metric-ai-$METRIC_AI_COMMIT" metric-ai "$METRIC_AI_COMMIT"; }
build_rollouts-demo() { build_shared rollouts-demo "rollouts-demo-$ROLLOUTS_DEMO_COMMIT" rollouts-demo "$ROLLOUTS_DEMO_COMMIT"; }

default="etcd k8s kwok rollouts"
if [ -d "$SHARED/rollouts-plugin-metric-ai" ]; then default="$default metric-ai"; else log "no $SHARED/rollouts-plugin-metric-ai: the AI metric plugin is not built (its tests will say they did not run)"; fi
if [ -d "$SHARED/rollouts-demo" ]; then default="$default rollouts-demo"; else log "no $SHARED/rollouts-demo: rollouts-demo is not built (its tests will say they did not run)"; fi
want=${*:-$default}
for c in $want; do start=$(date +%s); "build_$c"; log "$c ready in $(( $(date +%s) - start ))s"; done
echo "$OUT"
