#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 + ASan + UBSan into build-fuzz/ and runs them.
#   scripts/fuzz.sh [--seconds N] [--parallel N] [--build-only] [TARGET...]
# Each target first replays its committed seed corpus (tests/fuzz/corpus/<target>/), then
# explores for N seconds (default 60) with -rss_limit_mb=512. New inputs go to
# build-fuzz/fuzz-work/<target>/ (the committed corpus is left as it is), findings to
# build-fuzz/fuzz-artifacts/<target>/, logs to build-fuzz/fuzz-logs/<target>.log.
# Exit status: 0 when no target found anything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=60 parallel=1 build_only=0 targets=()
while (($#)); do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --parallel) parallel=$2; shift 2 ;;
    --build-only) build_only=1; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
build="$root/build-fuzz"
if [ ! -f "$build/build.ninja" ]; then
  CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DKWIRE_BUILD_FUZZ=ON -DKWIRE_SANITIZE=ON -DKWIRE_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$build" >&2
((build_only)) && exit 0
if ((${#targets[@]} == 0)); then
  for f in "$root"/tests/fuzz/fuzz_*.cpp; do targets+=("$(basename "${f%.cpp}")"); done
fi
mkdir -p "$build/fuzz-logs"
run_one() {
  local t=$1 build=$2 root=$3 seconds=$4
  local work="$build/fuzz-work/$t" art="$build/fuzz-artifacts/$t/"
  mkdir -p "$work" "$art"
  if "$build/bin/$t" "$work" "$root/tests/fuzz/corpus/$t" -max_total_time="$seconds" -rss_limit_mb=512 \
      -max_len=65536 -timeout=10 -print_final_stats=1 -artifact_prefix="$art" \
      >"$build/fuzz-logs/$t.log" 2>&1; then
    echo "fuzz $t: ${seconds}s, $(grep -o 'stat::number_of_executed_units: [0-9]*' "$build/fuzz-logs/$t.log" | grep -o '[0-9]*$') runs, no finding"
  else
    echo "fuzz $t: FINDING (see $build/fuzz-logs/$t.log, inputs in $art)"; tail -30 "$build/fuzz-logs/$t.log"
    return 1
  fi
}
export -f run_one
printf '%s\n' "${targets[@]}" | xargs -P "$parallel" -I{} bash -c 'run_one "$@"' _ {} "$build" "$root" "$seconds"
