#!/usr/bin/env bash
# test.sh - set-up and every test. `.ci/run` calls this.
#
#   1. scripts/setup.sh: Debian packages, the pinned Kafka broker, build/ (RelWithDebInfo)
#   2. unit, CLI and Java cross-check tests (ctest, no broker)
#   3. live-broker tests against the pinned 4.x broker, 1 and 3 nodes (ctest fixtures start
#      and stop the clusters with scripts/kafka-local.sh)
#   4. the same live-broker tests against Kafka 3.9.2
#   5. unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer (clang, build-fuzz/)
#   6. every libFuzzer target: replay its committed corpus, then KWIRE_TEST_FUZZ_SECONDS
#      (default 30) of fuzzing each
#   7. a short run of the micro benchmarks (they must run; figures come from a full run)
#   8. with --slow only: the long forms of the kill tests (tests/integration/slow_tests.sh),
#      on the pinned broker and the old one
# Prints a summary with each step's time; exit status non-zero if any step failed.
#
# Environment: KWIRE_TEST_FUZZ_SECONDS, KWIRE_TEST_OLD_KAFKA (default 3.9.2; "none" skips
# step 4), and setup.sh's (KWIRE_BUILD_DIR, KWIRE_CMAKE_ARGS, ...).
set -uo pipefail
slow=0
for arg in "$@"; do
  case $arg in
    --slow) slow=1 ;;
    *)
      echo "usage: scripts/test.sh [--slow]" >&2
      exit 2
      ;;
  esac
done
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build=${KWIRE_BUILD_DIR:-build}
[[ $build == /* ]] || build=$root/$build
fuzz_seconds=${KWIRE_TEST_FUZZ_SECONDS:-30}
old_kafka=${KWIRE_TEST_OLD_KAFKA:-3.9.2}
jobs=$(nproc 2>/dev/null || echo 2)

start=$(date +%s)
summary=()
failed=0

run_step() {
  local name=$1
  shift
  local t0=$(date +%s)
  printf '\n=== test.sh: %s\n' "$name" >&2
  if "$@"; then
    summary+=("ok    $(($(date +%s) - t0))s  $name")
  else
    summary+=("FAIL  $(($(date +%s) - t0))s  $name")
    failed=1
  fi
}

old_broker_tests() {
  KWIRE_KAFKA_VERSION=$old_kafka "$root/scripts/kafka-local.sh" fetch >/dev/null &&
    KWIRE_KAFKA_VERSION=$old_kafka ctest --test-dir "$build" --output-on-failure -L integration
}

sanitizer_unit_tests() {
  "$root/scripts/fuzz.sh" --build-only && ctest --test-dir "$root/build-fuzz" --output-on-failure -j"$jobs" -L unit
}

micro_bench_smoke() {
  "$build/bin/kwire-microbench" --benchmark_min_time=0.01 >/dev/null
}

run_step "set-up and build (scripts/setup.sh)" "$root/scripts/setup.sh"
if ((failed)); then
  echo "test.sh: set-up failed; nothing else can run" >&2
  exit 1
fi
run_step "unit, CLI and Java cross-check tests" \
  ctest --test-dir "$build" --output-on-failure -j"$jobs" -LE integration
run_step "live-broker tests, Kafka ${KWIRE_KAFKA_VERSION:-(pinned)}, 1 and 3 nodes" \
  ctest --test-dir "$build" --output-on-failure -L integration
if [[ $old_kafka != none ]]; then
  run_step "live-broker tests, Kafka $old_kafka, 1 and 3 nodes" old_broker_tests
fi
run_step "unit tests under ASan+UBSan (build-fuzz/)" sanitizer_unit_tests
run_step "fuzz targets, corpus replay + ${fuzz_seconds}s each" \
  "$root/scripts/fuzz.sh" --seconds "$fuzz_seconds" --parallel "$jobs"
run_step "micro benchmarks run (short)" micro_bench_smoke
if ((slow)); then
  slow_versions=("${KWIRE_KAFKA_VERSION:-pinned}")
  [[ $old_kafka != none ]] && slow_versions+=("$old_kafka")
  run_step "long kill tests (${slow_versions[*]})" \
    "$root/tests/integration/slow_tests.sh" "$build" "${slow_versions[@]}"
fi

printf '\n=== test.sh summary\n'
printf '%s\n' "${summary[@]}"
printf 'wall time: %ss\n' "$(($(date +%s) - start))"
if ((failed)); then
  echo "test.sh: FAILED"
  exit 1
fi
echo "test.sh: all passed"
