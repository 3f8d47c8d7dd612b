#!/usr/bin/env bash
# kwire-bench without a broker: help on stdout with exit 0, usage errors exit 2, and
# --timeout bounding every mode's whole run, the metadata wait included, against a closed
# port (each run ends within a few seconds of its timeout, exit 1, with a line saying so).
#   bench_help_and_timeout.sh KWIRE_BENCH_BINARY
set -uo pipefail
bench=${1:?usage: bench_help_and_timeout.sh KWIRE_BENCH_BINARY}
# Nothing listens on port 1 of the loopback: every connection attempt is refused.
closed=127.0.0.1:1
failures=0
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

fail() {
  failures=$((failures + 1))
  echo "FAIL: kwire-bench $1"
  sed 's/^/  stdout: /' "$out"
  sed 's/^/  stderr: /' "$err"
}

# Help: the usage on stdout, nothing on stderr, exit 0.
for args in "--help" "-h" "produce --help" "produce -h" "consume --help" "e2e -h" \
  "produce -b $closed -t t --help"; do
  # shellcheck disable=SC2086 # the words are the arguments
  "$bench" $args </dev/null >"$out" 2>"$err"
  got=$?
  if [[ $got != 0 ]] || ! grep -q "^usage: kwire-bench produce" "$out" || [[ -s $err ]]; then
    fail "$args -> exit $got (want 0, the usage on stdout only)"
  fi
done

# Usage errors stay exit 2 with the usage on stderr.
for args in "" "produce" "bogus" "produce -b $closed -t t -n 1 -s 1 --timeout never"; do
  # shellcheck disable=SC2086
  "$bench" $args </dev/null >"$out" 2>"$err"
  got=$?
  if [[ $got != 2 ]] || ! grep -q "^usage: kwire-bench" "$err"; then
    fail "'$args' -> exit $got (want 2, the usage on stderr)"
  fi
done

# --timeout 3 against a closed port: done within 10 s (the metadata wait alone used to take
# 30 to 60 s), exit 1, and stderr says the run timed out and how many records were done.
for mode in "produce -s 100" "consume" "e2e -s 100 --rate 1000"; do
  start=$(date +%s%N)
  # shellcheck disable=SC2086
  timeout -k 5 60 "$bench" $mode -b "$closed" -t bench-timeout -n 50000 --timeout 3 \
    </dev/null >"$out" 2>"$err"
  got=$?
  secs=$((($(date +%s%N) - start) / 1000000000))
  if ((secs > 10)) || [[ $got != 1 ]] || ! grep -q "timed out after 3 s: 0 of 50000 records" "$err"; then
    fail "$mode --timeout 3 against $closed -> exit $got after ${secs} s (want 1 within 10 s and a 'timed out after 3 s' line)"
  fi
done

if ((failures > 0)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all kwire-bench help and timeout checks passed"
