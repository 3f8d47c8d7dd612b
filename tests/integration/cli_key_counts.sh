#!/usr/bin/env bash
# The connector's example service (connector/examples/key_counts.cpp) through SIGKILLs: it
# counts the records of each key and writes "KEY -> COUNT" through the exactly-once sink, with
# the counts in its own checkpointed state. Killed at random moments while input arrives and
# restarted, it must still write, for each key, exactly the counts 1, 2, ... n (n = the key's
# input records) as a read_committed reader (kcat) sees them: no count missing or repeated.
source "$(dirname "$0")/pipeline_lib.sh"
key_counts=${2:?usage: $0 KWIRE KEY_COUNTS}
need_tool kcat "reads the output back"

records=${KWIRE_KEY_COUNTS_RECORDS:-6000}
kills=${KWIRE_KEY_COUNTS_KILLS:-2}
in=counts-in-$run_id out=counts-out-$run_id prefix=counts-$run_id
create_topic "$in"
create_topic "$out"

start_counter() {
  setsid "$key_counts" "$bootstrap" "$in" "$out" "$work/ckpt" "$prefix" "$@" \
    >>"$work/counts.out" 2>>"$work/counts.err" &
  pids+=($!)
  last_pid=$!
}
feed() { # keys k0..k49, so each key has many records in one partition
  seq "$1" "$2" | awk '{print "k" ($1 % 50) "\t" $1}' |
    "$kwire" produce -b "$bootstrap" -t "$in" -k '\t' >/dev/null 2>>"$work/produce.err" ||
    fail "kwire produce: $(cat "$work/produce.err")"
}
chunk=$((records / 6))
(for i in 0 1 2 3 4 5; do
  feed $((i * chunk + 1)) $(((i + 1) * chunk))
  sleep 0.5
done) &
feeder=$!
for k in $(seq 1 "$kills"); do
  start_counter
  sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.1f", 1.5 + (r % 20) / 10 }')"
  kill -9 -- "-$last_pid" 2>/dev/null || true
  wait "$last_pid" 2>/dev/null || true
  echo "     killed the service ($k of $kills)"
done
wait "$feeder"
start_counter 3000
t0=$SECONDS
while kill -0 "$last_pid" 2>/dev/null; do
  ((SECONDS - t0 < 120)) || { tail "$work/counts.err"; fail "the service did not end in 120 s"; }
  sleep 0.5
done
wait "$last_pid" || { tail "$work/counts.err"; fail "the service exited $?"; }

kcat -C -b "$bootstrap" -t "$out" -o beginning -e -q -X isolation.level=read_committed \
  -f '%s\n' >"$work/out.txt"
awk -v want="$((records / 50))" -v total="$records" '
  { key = $1; count = $3
    if (count != last[key] + 1) { bad++; if (bad <= 5) print "key " key ": " count " after " last[key] }
    last[key] = count; lines++ }
  END {
    for (k in last) { keys++; if (last[k] != want) { bad++; print "key " k " ends at " last[k] ", expected " want } }
    if (lines != total) { bad++; print lines " output records, expected " total }
    if (keys != 50) { bad++; print keys " keys, expected 50" }
    exit bad > 0 }' "$work/out.txt" || fail "the counts are not exact"
echo "ok   $records records of 50 keys, $kills kills: every key counted 1..$((records / 50)) exactly once"
no_open_transactions "$prefix"
echo "PASS"
