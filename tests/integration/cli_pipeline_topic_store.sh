#!/usr/bin/env bash
# kwire pipeline with its checkpoints in a compacted Kafka topic (--checkpoint-topic): the
# store's topic as created (compacted, 1 partition), a SIGKILL after a completed checkpoint
# and a restart, a crash right after a completion record was acknowledged, each checked with
# kwire verify; kwire checkpoint inspect --topic; and the refusals (both stores or none
# given, a topic of 2 partitions).
source "$(dirname "$0")/pipeline_lib.sh"

# completed_in_topic T: the number of completed checkpoints kwire checkpoint inspect finds.
completed_in_topic() {
  "$kwire" checkpoint inspect --topic "$1" -b "$bootstrap" --json 2>/dev/null |
    grep -o '"status":"completed"' | wc -l || true
}

# A kill after a completed checkpoint, then a restart to the end.
in=ts-in-$run_id out=ts-out-$run_id prefix=ts-$run_id store=ts-store-$run_id
create_topic "$in"
create_topic "$out"
feed_input "$in" 2000 3 0.5
start_pipeline kill "$in" "$out" "topic:$store" "$prefix"
t0=$SECONDS
until (($(completed_in_topic "$store") >= 1)); do
  ((SECONDS - t0 < 60)) || { tail -n 20 "$work/kill.err"; fail "no checkpoint completed in 60 s"; }
  sleep 0.2
done
kill -9 -- "-$last_pid" 2>/dev/null || true
wait "$last_pid" 2>/dev/null || true
wait "$feeder"
echo "     killed the pipeline after a completed checkpoint"
kafka_tool topics --bootstrap-server "$bootstrap" --describe --topic "$store" >"$work/describe.out"
grep -q "PartitionCount: 1" "$work/describe.out" || { cat "$work/describe.out"; fail "store topic: not 1 partition"; }
grep -q "cleanup.policy=compact" "$work/describe.out" || { cat "$work/describe.out"; fail "store topic: not compacted"; }
: >"$work/kill.err"
run_to_end kill "$in" "$out" "topic:$store" "$prefix"
grep -q "restored from checkpoint" "$work/kill.err" || { cat "$work/kill.err"; fail "the restart restored nothing"; }
verify "$in" "$out" "topic store: a kill after a completed checkpoint, a restart"
grep -q '"in":8000,' "$work/verify.json" || fail "expected 8000 input records"
no_open_transactions "$prefix"
"$kwire" checkpoint inspect --topic "$store" -b "$bootstrap" >"$work/inspect.out" ||
  { cat "$work/inspect.out"; fail "kwire checkpoint inspect --topic"; }
grep -q "^manifest: parallelism 2" "$work/inspect.out" || { cat "$work/inspect.out"; fail "inspect: no manifest"; }
grep -q "pending transaction\|position $in partition" "$work/inspect.out" ||
  { cat "$work/inspect.out"; fail "inspect: no positions"; }
echo "ok   kwire checkpoint inspect --topic"

# The process dies right after checkpoint 2's completion record was acknowledged: its
# transactions are committed by the restore.
in=tc-in-$run_id out=tc-out-$run_id prefix=tc-$run_id store=tc-store-$run_id
create_topic "$in"
create_topic "$out"
feed_input "$in" 1000 3 0.4
rc=0
KWIRE_CRASH_AT=completion-appended:2 start_pipeline crash "$in" "$out" "topic:$store" "$prefix"
t0=$SECONDS
while kill -0 "$last_pid" 2>/dev/null; do
  ((SECONDS - t0 < 60)) || fail "completion-appended: the pipeline did not reach the crash point in 60 s"
  sleep 0.1
done
wait "$last_pid" || rc=$?
((rc == 137)) || { tail -n 20 "$work/crash.err"; fail "completion-appended: exit $rc, not SIGKILL (137)"; }
wait "$feeder"
: >"$work/crash.err"
run_to_end crash "$in" "$out" "topic:$store" "$prefix"
grep -q "restored from checkpoint 2" "$work/crash.err" || { cat "$work/crash.err"; fail "not restored from checkpoint 2"; }
verify "$in" "$out" "topic store: crash at completion-appended:2"
no_open_transactions "$prefix"

# Refusals, exit 2.
rc=0
"$kwire" pipeline -b "$bootstrap" --source-topic "$in" --sink-topic "$out" --checkpoint-dir "$work/x" \
  --checkpoint-topic "$store" --transactional-id-prefix p >"$work/last" 2>&1 || rc=$?
((rc == 2)) && grep -q "one of them" "$work/last" || { cat "$work/last"; fail "both stores: exit $rc"; }
rc=0
"$kwire" pipeline -b "$bootstrap" --source-topic "$in" --sink-topic "$out" \
  --transactional-id-prefix p >"$work/last" 2>&1 || rc=$?
((rc == 2)) && grep -q "checkpoint store is required" "$work/last" || { cat "$work/last"; fail "no store: exit $rc"; }
wide=tw-store-$run_id
create_topic "$wide"  # 4 partitions
rc=0
timeout 60 "$kwire" pipeline -b "$bootstrap" --source-topic "$in" --sink-topic "$out" \
  --checkpoint-topic "$wide" --transactional-id-prefix p >"$work/last" 2>&1 || rc=$?
((rc == 2)) && grep -q "topic $wide has 4 partitions" "$work/last" ||
  { cat "$work/last"; fail "a store topic of 4 partitions: exit $rc"; }
echo "ok   refusals: both stores, none, a topic of 4 partitions"

echo "PASS"
