# Sourced by cli_pipeline_kills.sh and cli_pipeline_crash.sh: kwire pipeline
# --semantic exactly_once (4 input and 4 output partitions, parallelism 2) started, killed and
# restarted in the background, and checked from the outside: `kwire verify` must find every
# input record exactly once in the output, in order, as a read_committed reader sees it, and
# no transaction of the job's prefix may be left open.
source "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"
need_tool java "the broker's topic tool"
use_fixture_broker

records=${KWIRE_PIPELINE_RECORDS:-20000}
kills=${KWIRE_PIPELINE_KILLS:-3}
nodes=$(tr ',' '\n' <<<"$bootstrap" | wc -l)
replicas=$((nodes >= 3 ? 3 : 1))
semantic=${KWIRE_PIPELINE_SEMANTIC:-exactly_once}
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

# feed_input IN CHUNK MORE PAUSE: records 1..CHUNK into IN now, then MORE chunks of CHUNK,
# PAUSE seconds apart, in the background ($feeder is its pid).
feed_input() {
  local in=$1 chunk=$2 more=$3 pause=$4
  produce "$in" 1 "$chunk"
  (for i in $(seq 1 "$more"); do
    sleep "$pause"
    produce "$in" $((i * chunk + 1)) $(((i + 1) * chunk))
  done) &
  feeder=$!
}

# start_pipeline NAME IN OUT STORE PREFIX [extra args]: in the background (its own process
# group). STORE: a directory, or topic:T for the store in Kafka topic T.
start_pipeline() {
  local name=$1 in=$2 out=$3 dir=$4 prefix=$5
  shift 5
  local store=(--checkpoint-dir "$dir")
  [[ $dir != topic:* ]] || store=(--checkpoint-topic "${dir#topic:}")
  setsid "$kwire" pipeline -b "$bootstrap" --source-topic "$in" --sink-topic "$out" \
    "${store[@]}" --semantic "$semantic" --transactional-id-prefix "$prefix" \
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

# latest_completed DIR: the id of the newest completed checkpoint in the store, or fails.
latest_completed() {
  local last
  last=$(ls -d "$1"/chk-*/completed 2>/dev/null | sort | tail -1)
  [[ -n $last ]] || return 1
  last=${last%/completed}
  echo $((10#${last##*chk-}))
}
# verify IN OUT NAME: kwire verify must be clean (at_least_once: nothing lost; the
# duplicates are reported); prints its JSON.
verify() {
  local rc=0
  "$kwire" verify -b "$bootstrap" --source-topic "$1" --sink-topic "$2" --json \
    >"$work/verify.json" 2>"$work/verify.err" || rc=$?
  if [[ $semantic == at_least_once ]]; then
    grep -q '"lost":0,' "$work/verify.json" || {
      cat "$work/verify.json" "$work/verify.err"
      fail "$3: records lost under at_least_once"
    }
  elif ((rc != 0)); then
    cat "$work/verify.json" "$work/verify.err"
    fail "$3: kwire verify found anomalies"
  fi
  echo "ok   $3 ($semantic): $(cat "$work/verify.json")"
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


# watch_transactions PREFIX MAX_MS: in the background until stop_watching, samples every
# second the transactions of PREFIX that are Ongoing or preparing (they hold back the last
# stable offset of their partitions, so read_committed readers wait on them) and open for
# MAX_MS or more (ListTransactions v1, KIP-994); each one seen goes to $work/held.txt.
watch_transactions() {
  local prefix=$1 max_ms=$2
  : >"$work/held.txt"
  (while :; do
    "$kwire" txn list -b "$bootstrap" --state Ongoing --state PrepareCommit \
      --state PrepareAbort --min-duration-ms "$max_ms" 2>/dev/null |
      grep -- "^$prefix-" >>"$work/held.txt"
    sleep 1
  done) &
  watcher=$!
}
# stop_watching WHAT: fails naming the transactions watch_transactions saw held too long.
stop_watching() {
  kill "$watcher" 2>/dev/null || true
  wait "$watcher" 2>/dev/null || true
  if [[ -s $work/held.txt ]]; then
    sort -u "$work/held.txt"
    fail "$1: a transaction held read_committed readers back too long"
  fi
}
