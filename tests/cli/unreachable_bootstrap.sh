#!/usr/bin/env bash
# With no bootstrap server reachable, kwire produce, consume, metadata and txn say so within
# seconds (not after delivery.timeout.ms, 120 s, or request.timeout.ms, 30 s) and exit 1.
#   unreachable_bootstrap.sh KWIRE_BINARY
set -uo pipefail
kwire=${1:?usage: unreachable_bootstrap.sh KWIRE_BINARY}
# Nothing listens on port 1 of the loopback: every connection attempt is refused.
closed=127.0.0.1:1
said="no bootstrap server reachable: 127.0.0.1:1: Connection refused"
most_seconds=15
failures=0
checks=0
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

# expect_early INPUT ARGS...: `kwire ARGS` with INPUT on stdin exits 1 within most_seconds
# and says why on stderr. (timeout stops a run that would wait the whole timeout.)
expect_early() {
  local input=$1
  shift
  checks=$((checks + 1))
  local started=$SECONDS
  printf "%s" "$input" | timeout -s KILL 60 "$kwire" "$@" >"$out" 2>"$err"
  local status=$? elapsed=$((SECONDS - started))
  if [[ $status != 1 ]] || ((elapsed > most_seconds)) || ! grep -qF -- "$said" "$err"; then
    failures=$((failures + 1))
    echo "FAIL: kwire $* -> exit $status after $elapsed s (want 1 within $most_seconds s" \
      "saying '$said'):"
    sed 's/^/  stderr: /' "$err"
  fi
}

expect_early $'x\n' produce -b "$closed" -t t
# Each record says why it failed too.
checks=$((checks + 1))
if ! grep -qF "record failed: line 1: $said" "$err" || ! grep -qF "0 records produced, 1 failed" "$err"; then
  failures=$((failures + 1))
  echo "FAIL: produce: the failed record does not name the reason:"
  sed 's/^/  stderr: /' "$err"
fi
expect_early '' consume -b "$closed" -t t
expect_early '' consume -b "$closed" -t '^t' -G g
expect_early '' metadata -b "$closed"
expect_early '' txn list -b "$closed"
expect_early '' txn describe -b "$closed" some-id
expect_early '' txn abort -b "$closed" --topic t --partition 0
# A well-formed handle (transactional id cli-usage, producer id 1, t partition 0).
handle=kwtx1.AQAJY2xpLXVzYWdlAAAAAAAAAAEAAAIAAAAAAAAAAAAA6mAAAAABAAF0AAAAAAAAAAAAAAAAuyKrYg==
expect_early '' txn commit -b "$closed" "$handle"
expect_early '' txn abort -b "$closed" "$handle"

if ((failures > 0)); then
  echo "$failures of $checks checks failed"
  exit 1
fi
echo "all $checks checks passed"
