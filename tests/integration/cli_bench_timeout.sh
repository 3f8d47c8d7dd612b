#!/usr/bin/env bash
# kwire-bench against the fixture's broker: a consume run asked for more records than the
# topic holds ends at its --timeout with a stderr line saying so and how many arrived (its
# JSON line counts the rest as failed, exit 1); an e2e run prints progress once a second.
#   cli_bench_timeout.sh KWIRE_BENCH_BINARY   (KWIRE_BOOTSTRAP_FILE: the broker fixture's)
source "$(dirname "$0")/cli_lib.sh"
bench=$kwire
use_fixture_broker

topic=cli-bench-timeout-$run_id
# The broker creates the topic (auto.create.topics.enable) for the producer's metadata request.
"$bench" produce -b "$bootstrap" -t "$topic" -n 100 -s 100 >"$work/produce.out" 2>"$work/produce.err" \
  || fail "produce 100 records: $(cat "$work/produce.err")"

start=$(date +%s%N)
rc=0
timeout -k 5 60 "$bench" consume -b "$bootstrap" -t "$topic" -n 1000 --timeout 3 \
  >"$work/consume.out" 2>"$work/consume.err" || rc=$?
secs=$((($(date +%s%N) - start) / 1000000000))
((rc == 1)) || fail "consume -n 1000 of 100 records: exit $rc (want 1): $(cat "$work/consume.err")"
((secs <= 10)) || fail "consume --timeout 3 took ${secs} s"
grep -q "timed out after 3 s: 100 of 1000 records received" "$work/consume.err" \
  || fail "consume: no timed-out line on stderr: $(cat "$work/consume.err")"
tail -n 1 "$work/consume.out" | grep -q '"msgs":100,"failed":900,' \
  || fail "consume: the JSON line: $(tail -n 1 "$work/consume.out")"

"$bench" e2e -b "$bootstrap" -t "$topic" -n 3000 -s 100 --rate 1000 --timeout 60 \
  >"$work/e2e.out" 2>"$work/e2e.err" || fail "e2e: $(cat "$work/e2e.err")"
grep -q "^kwire-bench: [0-9]*/3000 received$" "$work/e2e.err" \
  || fail "e2e printed no progress: $(cat "$work/e2e.err")"
echo "kwire-bench timeout and progress checks passed"
