#!/usr/bin/env bash
# Records the workflow histories replayed by tests/unit/replay.test.ts, by running the
# integration tests that finish one run of each workflow type with RECORD_HISTORIES=1.
#
#   scripts/record-histories.sh [pipeline|matrix|generation|import|evaluate ...]   (default: all)
#
# After an intended workflow change, first keep the old recording under a versioned name
# (git mv tests/histories/pipeline.json tests/histories/pipeline-v1.json): it proves that
# executions started before the change still replay (behind patched()). Then record, run
# `npx jest tests/unit/replay.test.ts` and commit both files.
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A FILES=(
  [pipeline]="tests/integration/pipeline.test.ts"
  [matrix]="tests/integration/matrix.test.ts"
  [generation]="tests/integration/generate.test.ts"
  [import]="tests/integration/import.test.ts"
  [evaluate]="tests/integration/import.test.ts"
)
declare -A FILTER=(
  [pipeline]="import → generate"
  [matrix]="paper-matrix-cpu"
  [generation]="30 goals through batches|continue-as-new"
  [import]="imports the 2.1 test set"
  [evaluate]="imports the 2.1 test set|evaluate workflow"
)
which=("$@")
[ ${#which[@]} -eq 0 ] && which=(pipeline matrix generation import evaluate)
for w in "${which[@]}"; do
  [ -n "${FILES[$w]:-}" ] || { echo "unknown: $w (pipeline, matrix, generation, import, evaluate)" >&2; exit 2; }
  echo "recording $w histories (${FILES[$w]})"
  RECORD_HISTORIES=1 npx jest "${FILES[$w]}" -t "${FILTER[$w]}"
done
git status --short tests/histories
