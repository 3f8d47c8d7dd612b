#!/usr/bin/env bash
# kwire pipeline stopped exactly between two steps of the exactly-once protocol: the crash
# points of a test build (KWIRE_CRASH_AT=<point>:<checkpoint>) make it SIGKILL itself; a
# restart with the same arguments finishes the job, and the output must be exact. Last, a
# recovery later than transaction.timeout.ms: the loss must be reported, never silent; and a
# deleted completed checkpoint: the restore is refused.
source "$(dirname "$0")/pipeline_lib.sh"

# Each point:  a new job (pool of 2 ids, so that a slot is reused at the third
# transaction), input arriving in chunks over a few checkpoints; the pipeline kills itself at
# the step of checkpoint 2, or, for restore-committed, in the restore after a first kill.
points=(pre-commit part-temp-written part-renamed completion-temp-written completion-renamed
  end-txn-sent committed reused-slot-begun restore-committed)
for point in "${points[@]}"; do
  in=crash-in-$point-$run_id out=crash-out-$point-$run_id prefix=crash-$point-$run_id
  ck=$work/ck-$point
  create_topic "$in"
  create_topic "$out"
  feed_input "$in" 1000 5 0.4
  at=2
  if [[ $point == restore-committed ]]; then
    start_pipeline crash "$in" "$out" "$ck" "$prefix" --transactional-id-pool 2
    t0=$SECONDS
    until latest_completed "$ck" >/dev/null; do
      ((SECONDS - t0 < 60)) || fail "$point: no checkpoint completed in 60 s"
      sleep 0.1
    done
    kill -9 -- "-$last_pid" 2>/dev/null || true
    wait "$last_pid" 2>/dev/null || true
    at=$(latest_completed "$ck")
  fi
  KWIRE_CRASH_AT=$point:$at start_pipeline crash "$in" "$out" "$ck" "$prefix" \
    --transactional-id-pool 2
  t0=$SECONDS
  rc=0
  while kill -0 "$last_pid" 2>/dev/null; do
    ((SECONDS - t0 < 60)) || fail "$point: the pipeline did not reach the crash point in 60 s"
    sleep 0.1
  done
  wait "$last_pid" || rc=$?
  ((rc == 137)) || { tail -n 20 "$work/crash.err"; fail "$point: exit $rc, not SIGKILL (137)"; }
  wait "$feeder"
  : >"$work/crash.err"
  run_to_end crash "$in" "$out" "$ck" "$prefix" --transactional-id-pool 2
  grep -h "restore:" "$work/crash.err" | sed 's/^/     /' || true
  if grep -q "are lost\|no transaction marker" "$work/crash.err"; then
    cat "$work/crash.err"
    fail "$point: a prepared transaction was lost or its outcome unknown"
  fi
  verify "$in" "$out" "crash at $point:$at"
  no_open_transactions "$prefix"
done

# Recovery held past transaction.timeout.ms: checkpoint 2 completes, the process dies before
# its transactions are committed, and the restart comes after the broker aborted them. The
# loss must be reported (the checkpoint, the id, the partitions) and counted, and verify must
# find exactly those records missing, none duplicated.
in=late-in-$run_id out=late-out-$run_id prefix=late-$run_id
ck=$work/ck-late
create_topic "$in"
create_topic "$out"
feed_input "$in" 1000 3 0.4
late=(-X transaction.timeout.ms=3000 --checkpoint-timeout-ms 1000)
KWIRE_CRASH_AT=completion-renamed:2 start_pipeline late "$in" "$out" "$ck" "$prefix" "${late[@]}"
wait "$last_pid" 2>/dev/null || true
wait "$feeder"
# The coordinator looks for timed-out transactions every 10 s
# (transaction.abort.timed.out.transaction.cleanup.interval.ms).
sleep 14
: >"$work/late.err"
run_to_end late "$in" "$out" "$ck" "$prefix" "${late[@]}"
grep -q "transaction of checkpoint 2 .*its records are lost" "$work/late.err" || {
  cat "$work/late.err"
  fail "recovery past transaction.timeout.ms: no loss reported for checkpoint 2"
}
grep -h "restore:" "$work/late.err" | sed 's/^/     /' || true
"$kwire" verify -b "$bootstrap" --source-topic "$in" --sink-topic "$out" --json \
  >"$work/verify.json" 2>/dev/null || true
grep -q '"duplicated":0,' "$work/verify.json" && ! grep -q '"lost":0,' "$work/verify.json" ||
  fail "recovery past transaction.timeout.ms: expected records lost, none duplicated: $(cat "$work/verify.json")"
echo "ok   recovery past transaction.timeout.ms: the loss reported and counted: $(cat "$work/verify.json")"

# A completed checkpoint deleted from the store: with a group, the source committed each
# completed checkpoint's positions with its id; a restart that finds the group ahead of the
# store's newest completed checkpoint refuses to restore (exit 2, naming both) instead of
# handing the records out again.
in=gone-in-$run_id out=gone-out-$run_id prefix=gone-$run_id
ck=$work/ck-gone
create_topic "$in"
create_topic "$out"
produce "$in" 1 3000
run_to_end gone "$in" "$out" "$ck" "$prefix" -X group.id="$prefix"
newest=$(latest_completed "$ck")
rm -rf "$ck/chk-$(printf '%020d' "$newest")"
rc=0
"$kwire" pipeline -b "$bootstrap" --source-topic "$in" --sink-topic "$out" --checkpoint-dir "$ck" \
  --semantic exactly_once --transactional-id-prefix "$prefix" --parallelism 2 \
  -X group.id="$prefix" --stop-after-idle-ms 3000 >/dev/null 2>"$work/gone.err" || rc=$?
((rc == 2)) && grep -q "committed the offsets of checkpoint $newest" "$work/gone.err" || {
  cat "$work/gone.err"
  fail "a deleted completed checkpoint: exit $rc, expected 2 and the refusal naming $newest"
}
echo "ok   a deleted completed checkpoint ($newest): the restore refused, exit 2"
echo "PASS"
