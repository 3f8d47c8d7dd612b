#!/usr/bin/env bash
# kwire checkpoint inspect on a store written by the connector (no broker): the manifest,
# completed and incomplete checkpoints in text and JSON (exit 0), a corrupt completed
# checkpoint (exit 1, naming the file), usage errors (exit 2).
#   checkpoint_inspect.sh KWIRE_BINARY FIXTURE_BINARY
set -uo pipefail
kwire=${1:?usage: checkpoint_inspect.sh KWIRE_BINARY FIXTURE_BINARY}
fixture=${2:?usage: checkpoint_inspect.sh KWIRE_BINARY FIXTURE_BINARY}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
checks=0

out=$work/out
err=$work/err
# expect STATUS TEXT [ARGS...]
source "$(dirname "${BASH_SOURCE[0]}")/expect_lib.sh"

store=$work/store
"$fixture" "$store" || { echo "FAIL: the fixture could not write $store"; exit 1; }

expect 0 "manifest: parallelism 2, transactional ids demo-SUBTASK-SLOT (pool 5" checkpoint inspect "$store"
expect 0 "checkpoint 2: completed 2026-01-01T00:00:00.002Z (1767225600002), parallelism 2" checkpoint inspect "$store"
expect 0 "position in partition 1 next offset 201" checkpoint inspect "$store"
expect 0 "pending transaction (prepared at checkpoint 2; transactional id demo-1-2, producer id 1001 epoch 2, 1 partition): kwtx1." checkpoint inspect "$store"
expect 0 "state counts: 3 bytes" checkpoint inspect "$store"
expect 0 "checkpoint 3: incomplete (never completed; parts of subtasks 0)" checkpoint inspect "$store"

checks=$((checks + 1))
if ! "$kwire" checkpoint inspect "$store" --json >"$work/json" 2>"$work/err" ||
  ! python3 - "$work/json" <<'PY'; then
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["manifest"]["parallelism"] == 2 and doc["manifest"]["transactional_id_pool"] == 5
statuses = [(c["id"], c["status"]) for c in doc["checkpoints"]]
assert statuses == [(1, "completed"), (2, "completed"), (3, "incomplete")], statuses
sub1 = doc["checkpoints"][1]["subtasks"][1]
assert sub1["positions"] == [{"topic": "in", "partition": 1, "next_offset": 201}], sub1
assert sub1["pending_transactions"][0]["handle"].startswith("kwtx1."), sub1
assert sub1["states"] == {"counts": {"bytes": 3}}, sub1
assert doc["checkpoints"][2]["parts_present"] == [0]
PY
  failures=$((failures + 1))
  echo "FAIL: kwire checkpoint inspect --json:"
  sed 's/^/  /' "$work/json" "$work/err"
fi

# A byte flipped in a part of the newest completed checkpoint.
part=$store/chk-00000000000000000002/part-00001
printf '\xff' | dd of="$part" bs=1 seek=20 conv=notrunc status=none
expect 1 "chk-00000000000000000002/part-00001: CRC-32C" checkpoint inspect "$store"
expect 1 "checkpoint 1: completed" checkpoint inspect "$store"
expect 1 "\"status\":\"unreadable\"" checkpoint inspect "$store" --json

# Usage and missing directories.
expect 0 "usage: kwire checkpoint inspect DIR" checkpoint --help
expect 0 "usage: kwire checkpoint inspect DIR" checkpoint inspect --help
expect 2 "which action? (inspect)" checkpoint
expect 2 "unknown action 'bogus'" checkpoint bogus
expect 2 "checkpoint inspect needs a DIR" checkpoint inspect
expect 2 "unexpected argument 'two'" checkpoint inspect one two
expect 2 "unknown option '--bogus'" checkpoint inspect "$store" --bogus
expect 1 "not a directory" checkpoint inspect "$work/none"

if ((failures > 0)); then
  echo "$failures of $checks checks failed"
  exit 1
fi
echo "all $checks checks passed"
