#!/usr/bin/env bash
# make bench: the quality figures that come from tests rather than benchmarks — Loghub grouping accuracy
# per data set (needs ../shared/loghub_2k; skipped without it) and the canary scenario table (verdict,
# confidence, raw log tokens vs prompt tokens per case).
set -euo pipefail
cd "$(dirname "$0")/.."
go test ./internal/logmine -run '^TestLoghubGroupingAccuracy$' -count=1 -v | sed -n '/grouping accuracy/,/GA-stream:/p;/SKIP/p'
go test ./internal/judge -run '^TestScenarios$' -count=1 -v | sed -n '/case  *expected/,/scenarios passed/p'
