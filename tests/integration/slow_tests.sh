#!/usr/bin/env bash
# slow_tests.sh - the long forms of the kill tests (scripts/test.sh --slow; not in CI).
#
#   slow_tests.sh BUILD_DIR VERSION...
#
# For each Kafka VERSION ("pinned": kafka-local.sh's default): a 3-node cluster of its own (scripts/kafka-local.sh), then the
# exactly-once copier through 100,000 records with the copier SIGKILLed 3 times and the
# transaction coordinator's broker SIGKILLed and restarted 3 times (EosCopier.*). Prints each
# run's fault and result lines; exit status non-zero if any run failed. Then kwire pipeline
# (exactly once, parallelism 2, 4 -> 4 partitions) through 1,000,000 records and 5 random
# SIGKILLs; again with the leader of an input partition killed and restarted, and with the
# transaction coordinator's broker killed and restarted; at_least_once through 5 SIGKILLs
# (nothing lost, duplicates reported); and the key_counts example through 5 SIGKILLs.
set -uo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:?usage: slow_tests.sh BUILD_DIR VERSION...}
shift
tests=$build/bin/kwire-integration-tests
[[ -x $tests ]] || { echo "slow_tests.sh: no $tests (build first)" >&2; exit 2; }
failed=0
for version in "$@"; do
  if [[ $version == pinned ]]; then unset KWIRE_KAFKA_VERSION; else export KWIRE_KAFKA_VERSION=$version; fi
  dir=$build/kafka-slow-3node-$version
  echo "=== slow_tests.sh: Kafka $version, 3 nodes ($dir)"
  if ! "$root/scripts/kafka-local.sh" up --nodes 3 --dir "$dir" \
    >"$dir.up.log" 2>&1; then
    echo "slow_tests.sh: the $version cluster did not start (see $dir.up.log)" >&2
    failed=1
    continue
  fi
  KWIRE_BOOTSTRAP_FILE=$dir/bootstrap KWIRE_EOS_RECORDS=100000 KWIRE_EOS_KILLS=3 \
    KWIRE_EOS_COORDINATOR_KILLS=3 timeout 900 "$tests" --gtest_filter='EosCopier.*' |
    grep -E '^(fault|faults|output)|OK|FAILED|Failure|Which is'
  ((PIPESTATUS[0] == 0)) || failed=1
  pipeline_run() { # NAME ENV...: one long pipeline run, its result lines
    local name=$1
    shift
    echo "--- pipeline: $name"
    env KWIRE_BOOTSTRAP_FILE="$dir/bootstrap" KWIRE_PIPELINE_RECORDS=1000000 \
      KWIRE_PIPELINE_KILLS=5 "$@" timeout 1200 \
      "$root/tests/integration/cli_pipeline_kills.sh" "$build/bin/kwire" 2>&1 |
      grep -E '^(ok|FAIL|PASS)|killed broker|started broker'
    ((PIPESTATUS[0] == 0)) || failed=1
  }
  pipeline_run "5 SIGKILLs"
  pipeline_run "5 SIGKILLs and a partition leader killed" KWIRE_PIPELINE_BROKER_KILL=leader
  pipeline_run "5 SIGKILLs and the transaction coordinator killed" \
    KWIRE_PIPELINE_BROKER_KILL=coordinator
  pipeline_run "at_least_once, 5 SIGKILLs" KWIRE_PIPELINE_SEMANTIC=at_least_once
  echo "--- key_counts example: 60,000 records, 5 SIGKILLs"
  KWIRE_BOOTSTRAP_FILE=$dir/bootstrap KWIRE_KEY_COUNTS_RECORDS=60000 KWIRE_KEY_COUNTS_KILLS=5 \
    timeout 900 "$root/tests/integration/cli_key_counts.sh" "$build/bin/kwire" \
    "$build/examples/key_counts" 2>&1 | grep -E '^(ok|FAIL|PASS)'
  ((PIPESTATUS[0] == 0)) || failed=1
  "$root/scripts/kafka-local.sh" down --dir "$dir" >/dev/null 2>&1
done
exit $failed
