# fixloop — see AGENTS.md. `make test` is what CI runs (.ci/run).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN         := $(CURDIR)/bin/fixloop
PLUGIN_BIN  := $(CURDIR)/bin/rollouts-plugin-fixloop
TESTENV_DIR ?= $(CURDIR)/.testenv
GO_TEST_TIMEOUT ?= 40m
FUZZTIME    ?= 20s
# `make bench BENCH_10K=1` adds the 10,000-pod benchmark (creating the pods alone takes minutes).
BENCH_10K   ?=
BENCH_TIMEOUT ?= 60m
# Bounded fuzzing run by `make test`: one `pkgpath:FuzzName` per entry (append yours).
FUZZ_TARGETS ?=
FUZZ_TARGETS += ./internal/logmine:FuzzReader
FUZZ_TARGETS += ./internal/logmine:FuzzMiner
FUZZ_TARGETS += ./internal/redact:FuzzRedact
FUZZ_TARGETS += ./internal/judge:FuzzJudgeInputs
FUZZ_TARGETS += ./internal/logmine:FuzzAccessFacts

GO_DIRS := $(shell find . -name '*.go' -not -path './node_modules/*' -not -path '*/node_modules/*' -not -path './.testenv/*' -not -path './bin/*' | xargs -r -n1 dirname | sort -u)

.PHONY: all build plugin plugin-release lint test fuzz bench testenv-build testenv-up testenv-down testenv-status demo

all: build

# No -trimpath: it would key a second build cache apart from go test's and compile everything twice.
build:
	go build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/fixloop

# fixloop's Argo Rollouts metric plugin, loaded by the Argo Rollouts controller (manifests/argo).
plugin:
	go build -ldflags "-X main.version=$(VERSION)" -o $(PLUGIN_BIN) ./cmd/rollouts-plugin-fixloop

# Static plugin binaries for an https:// entry in argo-rollouts-config.yaml, with the sha256 values the
# controller checks (fixloop publishes no prebuilt ones: host these where your controller can fetch them).
plugin-release:
	mkdir -p bin/release
	for arch in amd64 arm64; do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch go build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" \
	    -o bin/release/rollouts-plugin-fixloop-linux-$$arch ./cmd/rollouts-plugin-fixloop; \
	done
	cd bin/release && sha256sum rollouts-plugin-fixloop-linux-* > SHA256SUMS && cat SHA256SUMS

# golangci-lint is built once from the module proxy into the cache (pinned: its findings change between
# versions); `go mod tidy -diff` fails when go.mod/go.sum are not tidy.
GOLANGCI_VERSION ?= v2.15.0
TOOLS_CACHE ?= $(or $(FIXLOOP_CACHE),$(HOME)/.cache/fixloop)/tools
GOLANGCI := $(TOOLS_CACHE)/golangci-lint-$(GOLANGCI_VERSION)/golangci-lint

$(GOLANGCI):
	GOBIN=$(dir $@) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)

lint: $(GOLANGCI)
	@out=$$(gofmt -l $(GO_DIRS)); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	go mod tidy -diff
	go vet ./...
	$(GOLANGCI) run ./...

# Builds etcd, kube-apiserver/controller-manager/scheduler, kwok and the Argo Rollouts controller once
# into ~/.cache/fixloop/testenv (FIXLOOP_CACHE overrides); a no-op when they are there.
testenv-build:
	./hack/build-testenv.sh

# The controller loads bin/rollouts-plugin-fixloop (file://) at start, so it is built first.
testenv-up: build plugin
	$(BIN) testenv up --dir $(TESTENV_DIR)

testenv-down:
	@if [ -x $(BIN) ]; then $(BIN) testenv down --dir $(TESTENV_DIR); else echo "no $(BIN): nothing to stop"; fi

testenv-status: build
	$(BIN) testenv status --dir $(TESTENV_DIR)

# Everything CI runs. The environment is stopped whatever happens (trap on EXIT).
test: lint build plugin testenv-build
	@trap '$(MAKE) --no-print-directory testenv-down' EXIT; \
	$(MAKE) --no-print-directory testenv-up; \
	status=0; \
	FIXLOOP_TESTENV_DIR=$(TESTENV_DIR) FIXLOOP_BIN=$(BIN) go test -count=1 ./... -timeout $(GO_TEST_TIMEOUT) || status=$$?; \
	[ -d ../shared/rollouts-demo ] || echo "NOT RUN: ../shared/rollouts-demo is absent: test/argo TestRolloutsDemoCompareCanary and TestRolloutsDemoWebProvider (argoproj/rollouts-demo) were skipped"; \
	[ -d ../shared/rollouts-plugin-metric-ai ] || echo "NOT RUN: ../shared/rollouts-plugin-metric-ai is absent: test/argo TestAIPluginInRealController (the AI metric plugin in the real controller) was skipped"; \
	go test -count=1 -v -run 'TestRedactionCorpusOnEverySurface|TestHarmlessLinesUntouched|TestLoghubFalsePositiveBudget' ./internal/redact | grep -E 'redaction corpus|false positives' || status=1; \
	$(MAKE) --no-print-directory fuzz || status=$$?; \
	exit $$status

fuzz:
	@status=0; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
	  go test $$pkg -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 1s || status=1; \
	done; exit $$status

bench: build
	FIXLOOP_BIN=$(BIN) go test -run '^$$' -bench . -benchmem -timeout $(BENCH_TIMEOUT) $(if $(BENCH_10K),,-skip '^BenchmarkGetArchitecture10kPods$$') ./...
	@for s in hack/bench-*.sh; do [ -e "$$s" ] || continue; echo "== $$s"; bash "$$s"; done

demo:
	./hack/demo.sh
