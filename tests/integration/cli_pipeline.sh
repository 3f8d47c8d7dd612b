#!/usr/bin/env bash
# kwire pipeline --semantic exactly_once through SIGKILLs, checked from the outside: input is
# produced while the pipeline runs (4 input and 4 output partitions, parallelism 2); the
# pipeline is SIGKILLed at random moments and restarted with the same arguments; at the end
# `kwire verify` must find every input record exactly once in the output, in order, as a
# read_committed reader sees it, and no transaction of the job's prefix may be left open.
# Then the crash points (KWIRE_CRASH_AT, test builds): the pipeline kills itself at each step
# of the exactly-once protocol, a restart finishes the job, and verify must be clean again.
# Short form in CI; KWIRE_PIPELINE_RECORDS / KWIRE_PIPELINE_KILLS give the long form.
source "$(dirname "$0")/cli_lib.sh"
need_tool java "the broker's topic tool"
use_fixture_broker

records=${KWIRE_PIPELINE_RECORDS:-20000}
kills=${KWIRE_PIPELINE_KILLS:-3}
nodes=$(tr ',' '\n' <<<"$bootstrap" | wc -l)
replicas=$((nodes >= 3 ? 3 : 1))
pids=()
stop_all() {
  local p
  for p in "${pids[@]}"; do kill -9 -- "-$p" 2>/dev/null || true; done
  pids=()
}
trap 'stop_all; [[ -n ${KEEP_WORK:-} ]] && cp -r "$work" "$KEEP_WORK"; rm -rf "$work"' EXIT

create_topic() {
  kafka_tool topics --bootstrap-server "$bootstrap" --create --topic "$1" --partitions 4 \
    --replication-factor "$replicas" >/dev/null
}

# produce TOPIC FROM TO: keyed records (the key spreads them over the partitions).
produce() {
  seq "$2" "$3" | awk '{print "k" $1 "\t" $1}' |
    "$kwire" produce -b "$bootstrap" -t "$1" -k '\t' >/dev/null 2>>"$work/produce.err" ||
    fail "kwire produce: $(cat "$work/produce.err")"
}

# start_pipeline NAME IN OUT DIR PREFIX [extra args]: in the background (its own process group).
start_pipeline() {
  local name=$1 in=$2 out=$3 dir=$4 prefix=$5
  shift 5
  setsid "$kwire" pipeline -b "$bootstrap" --source-topic "$in" --sink-topic "$out" \
    --checkpoint-dir "$dir" --semantic exactly_once --transactional-id-prefix "$prefix" \
    --checkpoint-interval-ms 500 --parallelism 2 --restart-delay-ms 200 "$@" \
    >>"$work/$name.out" 2>>"$work/$name.err" &
  pids+=($!)
  last_pid=$!
}

# run_to_end NAME IN OUT DIR PREFIX: runs until it has been idle 3 s; fails after 120 s.
run_to_end() {
  local name=$1
  start_pipeline "$@" --stop-after-idle-ms 3000
  local t0=$SECONDS
  while kill -0 "$last_pid" 2>/dev/null; do
    ((SECONDS - t0 < 120)) || { tail -n 20 "$work/$name.err"; fail "$name did not end in 120 s"; }
    sleep 0.5
  done
  wait "$last_pid" || { tail -n 20 "$work/$name.err"; fail "$name exited $?"; }
}

# verify IN OUT NAME: kwire verify must be clean; prints its JSON.
verify() {
  "$kwire" verify -b "$bootstrap" --source-topic "$1" --sink-topic "$2" --json \
    >"$work/verify.json" 2>"$work/verify.err" || {
    cat "$work/verify.json" "$work/verify.err"
    fail "$3: kwire verify found anomalies"
  }
  echo "ok   $3: $(cat "$work/verify.json")"
}

# no_open_transactions PREFIX: ListTransactions shows no Ongoing transaction of the prefix.
no_open_transactions() {
  "$kwire" txn list -b "$bootstrap" --state Ongoing >"$work/txn.out" 2>&1 ||
    fail "kwire txn list: $(cat "$work/txn.out")"
  if grep -q -- "^$1-" "$work/txn.out"; then
    cat "$work/txn.out"
    fail "a transaction of $1 is still open"
  fi
}

# 1. Random SIGKILLs while input arrives.
in=pipe-in-$run_id out=pipe-out-$run_id prefix=pipe-$run_id
create_topic "$in"
create_topic "$out"
chunk=$((records / 10))
(for i in $(seq 0 9); do
  produce "$in" $((i * chunk + 1)) $(((i + 1) * chunk))
  sleep 0.5
done) &
producer=$!
for k in $(seq 1 "$kills"); do
  start_pipeline run "$in" "$out" "$work/ckpt" "$prefix"
  sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.1f", 1.5 + (r % 30) / 10 }')"
  kill -9 -- "-$last_pid" 2>/dev/null || true
  wait "$last_pid" 2>/dev/null || true
  echo "     killed the pipeline ($k of $kills)"
done
wait "$producer"
run_to_end run "$in" "$out" "$work/ckpt" "$prefix"
verify "$in" "$out" "$records records, $kills kills"
grep -q '"in":'"$records"',' "$work/verify.json" || fail "expected $records input records"
no_open_transactions "$prefix"

# 2. Crash points: each a new job (pool of 2 ids, so that a slot is reused at the third
# transaction), input arriving in chunks over a few checkpoints; the pipeline kills itself at
# the step of checkpoint 2, or, for restore-committed, in the restore after a first kill.
latest_completed() {
  local last
  last=$(ls -d "$1"/chk-*/completed 2>/dev/null | sort | tail -1)
  [[ -n $last ]] || return 1
  last=${last%/completed}
  echo $((10#${last##*chk-}))
}
points=(pre-commit part-temp-written part-renamed completion-temp-written completion-renamed
  end-txn-sent committed reused-slot-begun restore-committed)
for point in "${points[@]}"; do
  in=crash-in-$point-$run_id out=crash-out-$point-$run_id prefix=crash-$point-$run_id
  ck=$work/ck-$point
  create_topic "$in"
  create_topic "$out"
  produce "$in" 1 1000
  (for i in 1 2 3 4 5; do
    sleep 0.4
    produce "$in" $((i * 1000 + 1)) $(((i + 1) * 1000))
  done) &
  feeder=$!
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
echo "PASS"
