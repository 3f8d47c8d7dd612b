#!/usr/bin/env bash
# kwire pipeline through random SIGKILLs while its input arrives; restarted with the same
# arguments each time. Short form in CI; KWIRE_PIPELINE_RECORDS and KWIRE_PIPELINE_KILLS give
# the long form. Then a scale-down from parallelism 4 to 2 after a kill.
# KWIRE_PIPELINE_BROKER_KILL=leader|coordinator also SIGKILLs, 3 s into the run,
# the broker that leads input partition 0 or coordinates the transactions of subtask 0's first
# id, and starts it again 5 s later. KWIRE_PIPELINE_SEMANTIC=at_least_once checks that nothing
# is lost and reports the duplicates instead.
source "$(dirname "$0")/pipeline_lib.sh"

in=pipe-in-$run_id out=pipe-out-$run_id prefix=pipe-$run_id
create_topic "$in"
create_topic "$out"
chunk=$((records / 10))
(for i in $(seq 0 9); do
  produce "$in" $((i * chunk + 1)) $(((i + 1) * chunk))
  sleep 0.5
done) &
producer=$!
broker_fault=${KWIRE_PIPELINE_BROKER_KILL:-}
if [[ -n $broker_fault ]]; then
  (
    sleep 3
    case $broker_fault in
      leader) node=$("$kwire" metadata -b "$bootstrap" -t "$in" --json | python3 -c \
        'import json,sys; print(json.load(sys.stdin)["topics"][0]["partitions"][0]["leader"])') ;;
      coordinator) node=$("$kwire" txn describe -b "$bootstrap" "$prefix-0-0" |
        sed -n 's/^ *coordinator \([0-9]*\),.*/\1/p') ;;
      *) fail "KWIRE_PIPELINE_BROKER_KILL=$broker_fault: leader or coordinator" ;;
    esac
    [[ -n $node ]] || fail "no $broker_fault found to kill"
    "$root/scripts/kafka-local.sh" kill "$node" --dir "$fixture_dir" >/dev/null
    echo "     killed broker $node (the $broker_fault)"
    sleep 5
    "$root/scripts/kafka-local.sh" start "$node" --dir "$fixture_dir" >/dev/null
    echo "     started broker $node again"
  ) &
  broker_faulter=$!
fi
for k in $(seq 1 "$kills"); do
  start_pipeline run "$in" "$out" "$work/ckpt" "$prefix"
  sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.1f", 1.5 + (r % 30) / 10 }')"
  kill -9 -- "-$last_pid" 2>/dev/null || true
  wait "$last_pid" 2>/dev/null || true
  echo "     killed the pipeline ($k of $kills)"
done
wait "$producer"
[[ -z $broker_fault ]] || wait "$broker_faulter" || fail "the broker fault failed"
run_to_end run "$in" "$out" "$work/ckpt" "$prefix"
verify "$in" "$out" "$records records, $kills kills"
grep -q '"in":'"$records"',' "$work/verify.json" || fail "expected $records input records"
no_open_transactions "$prefix"

# Scale-down: a job at parallelism 4 killed after two completed checkpoints and restarted at
# parallelism 2. The restore gives the pending transactions of subtasks 2 and 3 to subtasks 0
# and 1, which commit them; the sweep aborts what any of the 4 x 5 ids left open. Meanwhile no
# transaction of the job may stay open 30 s or more: that would block read_committed readers.
in=scale-in-$run_id out=scale-out-$run_id prefix=scale-$run_id
create_topic "$in"
create_topic "$out"
feed_input "$in" 5000 3 0.5
watch_transactions "$prefix" "${KWIRE_PIPELINE_HELD_MS:-30000}"
start_pipeline scale "$in" "$out" "$work/ck-scale" "$prefix" --parallelism 4
t0=$SECONDS
until [[ $(ls -d "$work/ck-scale"/chk-*/completed 2>/dev/null | wc -l) -ge 2 ]]; do
  ((SECONDS - t0 < 60)) || fail "scale-down: no two checkpoints completed in 60 s"
  sleep 0.1
done
kill -9 -- "-$last_pid" 2>/dev/null || true
wait "$last_pid" 2>/dev/null || true
wait "$feeder"
run_to_end scale "$in" "$out" "$work/ck-scale" "$prefix" --parallelism 2
grep -q "parallelism changed from 4 to 2" "$work/scale.err" ||
  fail "scale-down: the restart did not report the new parallelism"
grep -h "restore:" "$work/scale.err" | sed 's/^/     /' || true
verify "$in" "$out" "scale-down 4 -> 2 after a kill"
stop_watching "scale-down"
echo "ok   scale-down: no transaction of the job open ${KWIRE_PIPELINE_HELD_MS:-30000} ms or more, sampled every second"
no_open_transactions "$prefix"

echo "PASS"
