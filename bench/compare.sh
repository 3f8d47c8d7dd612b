#!/usr/bin/env bash
# compare.sh - kwire's producer against librdkafka and the Java client, on one broker.
#
# Usage: bench/compare.sh [options]
#   -n RECORDS         records of each unthrottled run (default 1000000)
#                      (transactions scenarios: -n 1000000 is 1,000 transactions of 1,000)
#   --quick            a smoke test: 50000 records, 2 s fixed-rate runs, results named *-quick*
#   -b BOOTSTRAP       use this (loopback) broker instead of starting one
#   --broker-pid PID   with -b: the broker's pid, to report its CPU time per run
#   --partitions P     partitions of every topic (default 6)
#   --rate-secs S      length of each fixed-rate run (default 20; records = rate x S)
#   --runs R           runs of every client in every scenario, in rounds (each client once a
#                      round); the tables show the median run and the spread (default 1)
#   --scenarios LIST   comma-separated scenario names (default: those marked on below; "all")
#   --clients LIST     comma-separated clients (default kwire,librdkafka,java)
#   --rdkafka-props L  comma-separated extra librdkafka producer properties (default
#                      batch.num.messages=1000000, so that batch.size is the batch limit)
#   --bin DIR          where kwire-bench and rdkafka-bench are (default build/bin)
#   --out DIR          where the results go (default bench/results)
#
# It starts a 1-node broker with scripts/kafka-local.sh in a private directory (unless -b;
# stopped again on any exit), warms it up, then runs each scenario for each client, one run
# at a time, each on a fresh topic of P partitions, with a timeout on every run, and writes
# for each mode that ran (produce; consume, e2e and txn when their scenarios are chosen) to OUT:
#   MODE.md     the table (and the settings, machine, versions, notes)
#   MODE.png    the chart (needs gnuplot: the Debian package gnuplot-nox)
#   MODE.jsonl  the raw JSON result lines, with "scenario", "runner" and "props" added
# (MODE-quick.* with --quick). bench/README.md explains the columns and the fairness rules.
#
# Environment: KWIRE_KAFKA_VERSION (broker and Java tools version, see kafka-local.sh),
# JAVA_HOME.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT
readonly KAFKA_LOCAL=$ROOT/scripts/kafka-local.sh

# ------------------------------------------------------------------ what runs
#
# Settings every producer gets, in Java's names (kwire-bench and rdkafka-bench take them as -X,
# the Java tool as producer properties).
readonly COMMON_PRODUCER_PROPS=(acks=all enable.idempotence=true linger.ms=5)
# The "defaults" group (scenarios named defaults-*): every client as it comes, with only these
# and the scenario's compression.type set; no librdkafka extra properties either.
readonly DEFAULTS_PRODUCER_PROPS=(acks=all enable.idempotence=true)
#
# One scenario a line:
#   name  on  mode  size  rate  records  props
#   on:      1 = runs by default, 0 = only when named in --scenarios (or "all")
#   mode:    produce, consume (every client reads the same topic, filled once beforehand by
#            rdkafka-bench with the same payload), e2e (send -> receipt; not the Java tool) or
#            txn (produce in transactions of TXN_RECORDS records; Java: bench/peers/TxnBench).
#            A client that exits 2 ("not implemented") for a mode is reported as a note,
#            never as a result.
#   rate:    records/s, 0 = as fast as the client goes
#   records: N = the -n option, R = rate x --rate-secs, or a number
#   props:   more client properties (comma-separated), producer ones for produce and e2e.
#            Every producer scenario names batch.size, so that all clients batch alike,
#            except the defaults-* ones, where each client keeps its own defaults.
readonly SCENARIOS=(
  "defaults-produce-none 1  produce  100  0      N  compression.type=none"
  "defaults-produce-lz4  1  produce  100  0      N  compression.type=lz4"
  "defaults-produce-lz4-50k 0 produce 100 50000  R  compression.type=lz4"
  "produce-none-16k      1  produce  100  0      N  compression.type=none,batch.size=16384"
  "produce-lz4-16k       1  produce  100  0      N  compression.type=lz4,batch.size=16384"
  "produce-none-1m       1  produce  100  0      N  compression.type=none,batch.size=1000000"
  "produce-lz4-1m        1  produce  100  0      N  compression.type=lz4,batch.size=1000000"
  "produce-lz4-16k-50k   1  produce  100  50000  R  compression.type=lz4,batch.size=16384"
  "produce-lz4-1m-50k    0  produce  100  50000  R  compression.type=lz4,batch.size=1000000"
  "produce-none-16k-50k  0  produce  100  50000  R  compression.type=none,batch.size=16384"
  "consume-none          0  consume  100  0      10000000  compression.type=none"
  "consume-none-1k       0  consume  1024 0      3000000   compression.type=none"
  "consume-lz4           0  consume  100  0      10000000  compression.type=lz4"
  "consume-lz4-1k        0  consume  1024 0      3000000   compression.type=lz4"
  "e2e-lz4-10k           0  e2e      100  10000  R  compression.type=lz4,batch.size=16384"
  "txn-produce-100       0  txn      100  0      N  compression.type=none,batch.size=16384"
  "txn-produce-100-1m    0  txn      100  0      N  compression.type=none,batch.size=1000000"
)
readonly ALL_CLIENTS=(kwire librdkafka java)
# Records per transaction in the txn scenarios (--txn-records of kwire-bench, rdkafka-bench and
# TxnBench: begin, send this many, commit).
readonly TXN_RECORDS=1000

# librdkafka stops a batch at batch.num.messages (default 10,000) as well as at batch.size: raise
# the former to its maximum so that the batch.size shared by every client is the limit.
readonly DEFAULT_RDKAFKA_PROPS=batch.num.messages=1000000

# JVM options of kafka-producer-perf-test.sh (kafka-run-class.sh's defaults, -Xmx512M).
readonly JAVA_PERF_OPTS=(-Xmx512M -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20
  -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent
  -XX:MaxInlineLevel=15 -Djava.awt.headless=true)
readonly JAVA_PAYLOADS=10000 # distinct payloads in the Java tool's payload file

# ------------------------------------------------------------------ options

RECORDS=1000000
QUICK=0
BOOTSTRAP=
BROKER_PID=
PARTITIONS=6
RATE_SECS=20
RUNS=1
WANT_SCENARIOS=
CLIENTS=$(IFS=,; echo "${ALL_CLIENTS[*]}")
RDKAFKA_PROPS=$DEFAULT_RDKAFKA_PROPS
BIN=$ROOT/build/bin
OUT=$ROOT/bench/results

log() { printf 'compare: %s\n' "$*" >&2; }
die() { printf 'compare: error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

need_value() { (($2 >= 2)) || { usage; die "$1 needs a value"; }; }
while (($#)); do
  case $1 in
    -n) need_value "$1" $#; RECORDS=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    -b) need_value "$1" $#; BOOTSTRAP=$2; shift 2 ;;
    --broker-pid) need_value "$1" $#; BROKER_PID=$2; shift 2 ;;
    --partitions) need_value "$1" $#; PARTITIONS=$2; shift 2 ;;
    --rate-secs) need_value "$1" $#; RATE_SECS=$2; shift 2 ;;
    --runs) need_value "$1" $#; RUNS=$2; shift 2 ;;
    --scenarios) need_value "$1" $#; WANT_SCENARIOS=$2; shift 2 ;;
    --clients) need_value "$1" $#; CLIENTS=$2; shift 2 ;;
    --rdkafka-props) need_value "$1" $#; RDKAFKA_PROPS=$2; shift 2 ;;
    --bin) need_value "$1" $#; BIN=$2; shift 2 ;;
    --out) need_value "$1" $#; OUT=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage; die "unknown argument '$1'" ;;
  esac
done
if ((QUICK)); then
  RECORDS=50000
  RATE_SECS=2
fi
{ is_uint "$RECORDS" && ((RECORDS > 0)); } || die "-n needs a positive number, got '$RECORDS'"
{ is_uint "$PARTITIONS" && ((PARTITIONS > 0)); } || die "--partitions needs a positive number"
{ is_uint "$RATE_SECS" && ((RATE_SECS > 0)); } || die "--rate-secs needs a positive number"
{ is_uint "$RUNS" && ((RUNS > 0)); } || die "--runs needs a positive number, got '$RUNS'"
[[ -z $BROKER_PID ]] || is_uint "$BROKER_PID" || die "--broker-pid needs a pid"
for c in ${CLIENTS//,/ }; do
  [[ " ${ALL_CLIENTS[*]} " == *" $c "* ]] || die "unknown client '$c' (${ALL_CLIENTS[*]})"
done
if [[ -n $BOOTSTRAP ]]; then
  for hp in ${BOOTSTRAP//,/ }; do
    [[ $hp =~ ^(127\.[0-9.]+|localhost|\[::1\]):[0-9]+$ ]] \
      || die "-b: only loopback brokers (127.x.x.x:PORT, localhost:PORT), got '$hp'"
  done
fi
BIN=$(realpath -m -- "$BIN")
mkdir -p -- "$OUT"
OUT=$(realpath -- "$OUT")

# ------------------------------------------------------------------ work area, broker

WORK=$(mktemp -d /tmp/kwire-compare.XXXXXX)
BROKER_DIR=
RUN_ID=$(date -u +%H%M%S)
cleanup() {
  local rc=$?
  if [[ -z ${REPORTED:-} && -s ${JSONL:-} ]]; then
    cp -- "$JSONL" "$OUT/partial.jsonl" \
      && log "stopped early: the results so far are in $OUT/partial.jsonl"
  fi
  if [[ -n $BROKER_DIR ]]; then
    log "stopping the broker"
    "$KAFKA_LOCAL" down --dir "$BROKER_DIR" >/dev/null 2>&1 || log "could not stop the broker in $BROKER_DIR"
  elif [[ -n $BOOTSTRAP && -f $WORK/topics ]]; then
    log "deleting this run's topics"
    KWIRE_KAFKA_TOOL_TIMEOUT=120 "$KAFKA_LOCAL" tool topics --bootstrap-server "$BOOTSTRAP" \
      --delete --topic "bench-$RUN_ID-.*" >/dev/null 2>&1 || true
  fi
  rm -rf -- "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

LIBS=$("$KAFKA_LOCAL" fetch 2>/dev/null | sed -n 's/^libs=//p') || true
[[ -n $LIBS && -d $LIBS ]] || die "no Kafka jars (scripts/kafka-local.sh fetch failed)"

if [[ -z $BOOTSTRAP ]]; then
  BROKER_DIR=$WORK/kafka
  log "starting a 1-node broker"
  BOOTSTRAP=$(timeout -k 10 300 "$KAFKA_LOCAL" up --dir "$BROKER_DIR" 2>"$WORK/broker-up.log" \
    | sed -n 's/^bootstrap=//p') || { cat "$WORK/broker-up.log" >&2; die "the broker did not start"; }
  [[ -n $BOOTSTRAP ]] || { cat "$WORK/broker-up.log" >&2; die "the broker did not start"; }
  BROKER_PID=$(<"$BROKER_DIR/node-1/pid")
fi
log "broker $BOOTSTRAP"

# ------------------------------------------------------------------ helpers

NOTES=$WORK/notes
JSONL=$WORK/results.jsonl
: >"$NOTES"
: >"$JSONL"
# A note for the report of the mode being run (every report's when outside the scenarios).
note() { log "$*"; printf '%s\t%s\n' "${mode:-}" "$*" >>"$NOTES"; }

have_bench() { [[ -x $BIN/$1 ]]; }

json_field() { # $1 = field, $2 = JSON object: prints the field ("" when missing or not JSON)
  python3 -c 'import json, sys
try: print(json.loads(sys.argv[2]).get(sys.argv[1], ""))
except ValueError: print("")' "$1" "$2"
}

create_topic() { # $1 = name
  KWIRE_KAFKA_TOOL_TIMEOUT=120 "$KAFKA_LOCAL" tool topics --bootstrap-server "$BOOTSTRAP" \
    --create --topic "$1" --partitions "$PARTITIONS" --replication-factor 1 \
    >"$WORK/topic.log" 2>&1 || { cat "$WORK/topic.log" >&2; die "could not create topic $1"; }
  echo "$1" >>"$WORK/topics"
}

broker_cpu_ticks() { # utime + stime of the broker, in clock ticks ("" when unknown)
  [[ -n $BROKER_PID && -r /proc/$BROKER_PID/stat ]] || return 0
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$BROKER_PID/stat"
}

# Every run_CLIENT prints one line: the JSON result, "skip:WHY" (the client cannot run this:
# not built, mode not implemented, configuration refused) or "fail:WHY" (no result).

# Runs kwire-bench or rdkafka-bench (same command line): $1 = binary, $2 = mode, $3 = topic,
# $4 = records, $5 = size, $6 = rate, $7 = timeout, rest = properties.
run_native() {
  local bin=$1 mode=$2 topic=$3 n=$4 size=$5 rate=$6 secs=$7
  shift 7
  local -a cmd=("$BIN/$bin" "${mode/#txn/produce}" -b "$BOOTSTRAP" -t "$topic" -n "$n")
  [[ $mode == consume ]] || cmd+=(-s "$size")
  [[ $mode != txn ]] || cmd+=(--txn-records "$TXN_RECORDS")
  ((rate > 0)) && cmd+=(--rate "$rate")
  local p rc=0 last why
  for p in "$@"; do cmd+=(-X "$p"); done
  printf '%s\n' "${cmd[*]}" >>"$WORK/run.log"
  timeout -k 10 "$secs" "${cmd[@]}" </dev/null >"$WORK/native.out" 2>"$WORK/native.err" || rc=$?
  cat -- "$WORK/native.err" >>"$WORK/run.log"
  last=$(tail -n 1 "$WORK/native.out")
  why=$(grep -v '^usage:\|^  ' "$WORK/native.err" | tail -n 1)
  if [[ $last == "{"* ]]; then
    printf '%s\n' "$last"
  elif ((rc == 2)); then # usage or configuration error, or a mode it does not have yet
    printf 'skip:%s %s refused to run: %s\n' "$bin" "$mode" "$why"
  elif ((rc == 124 || rc == 137)); then
    printf 'fail:killed by the %s s timeout\n' "$secs"
  else
    printf 'fail:exit code %s without a result: %s\n' "$rc" "$why"
  fi
}

run_kwire() {
  have_bench kwire-bench || { echo "skip:kwire-bench is not built ($BIN/kwire-bench)"; return 0; }
  run_native kwire-bench "$@"
}

run_librdkafka() {
  have_bench rdkafka-bench || { echo "skip:rdkafka-bench is not built ($BIN/rdkafka-bench)"; return 0; }
  run_native rdkafka-bench "$@"
}

java_cmd() {
  if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then echo "$JAVA_HOME/bin/java"; else echo java; fi
}

# Whether this Kafka's ProducerPerformance takes --command-property (asked once, cached).
JAVA_COMMAND_PROPERTY=
java_has_command_property() {
  if [[ -z $JAVA_COMMAND_PROPERTY ]]; then
    JAVA_COMMAND_PROPERTY=no
    if timeout 120 "$(java_cmd)" -cp "$LIBS/*" org.apache.kafka.tools.ProducerPerformance --help \
      2>&1 | grep -q -e '--command-property'; then
      JAVA_COMMAND_PROPERTY=yes
    fi
  fi
  [[ $JAVA_COMMAND_PROPERTY == yes ]]
}

java_log_opts() {
  if compgen -G "$LIBS/log4j-core-*.jar" >/dev/null; then
    echo "-Dlog4j2.configurationFile=$ROOT/scripts/kafka/log4j2-tools.xml"
  else
    echo "-Dlog4j.configuration=file:$ROOT/scripts/kafka/log4j-tools.properties"
  fi
}

# The payload file of the Java clients for records of $1 bytes (rdkafka-bench writes it once);
# prints its path, or nothing when rdkafka-bench is not built.
java_payload_file() {
  local payload=$WORK/payload-$1.txt
  if [[ ! -f $payload ]] && have_bench rdkafka-bench; then
    "$BIN/rdkafka-bench" payload -n "$JAVA_PAYLOADS" -s "$1" >"$payload"
  fi
  [[ ! -f $payload ]] || echo "$payload"
}

# bench/peers/TxnBench.java compiled against this Kafka's client jars, once; prints the class
# directory, or nothing when javac is missing or fails.
java_txn_classes() {
  local classes=$WORK/txnbench
  if [[ ! -f $classes/TxnBench.class ]] && command -v javac >/dev/null; then
    mkdir -p -- "$classes"
    javac -cp "$LIBS/*" -d "$classes" "$ROOT/bench/peers/TxnBench.java" >>"$WORK/run.log" 2>&1 || true
  fi
  [[ ! -f $classes/TxnBench.class ]] || echo "$classes"
}

# The Java clients: ProducerPerformance (produce), ConsumerPerformance (consume) and our TxnBench
# (txn); CPU time and peak RSS from /usr/bin/time, JVM start-up included. Same arguments as
# run_native.
run_java() {
  local mode=$1 topic=$2 n=$3 size=$4 rate=$5 secs=$6
  shift 6
  [[ -x /usr/bin/time ]] || { echo "skip:/usr/bin/time (Debian package time) is missing"; return 0; }
  rm -f -- "$WORK/java.time"
  local -a cmd=(timeout -k 10 "$secs" /usr/bin/time -f '%U %S %M' -o "$WORK/java.time"
    "$(java_cmd)" "${JAVA_PERF_OPTS[@]}" "$(java_log_opts)" -Dkwire.kafka.log.level=WARN -cp "$LIBS/*")
  case $mode in
    produce)
      local payload
      payload=$(java_payload_file "$size")
      local -a data=(--record-size "$size")
      if [[ -n $payload ]]; then
        data=(--payload-file "$payload")
      else
        note "java: rdkafka-bench is not built, so the Java tool sends its own random-letter payload (compresses far better than ours)"
      fi
      cmd+=(org.apache.kafka.tools.ProducerPerformance --topic "$topic" --num-records "$n"
        --throughput "$((rate > 0 ? rate : -1))" "${data[@]}")
      if java_has_command_property; then # 4.4 has it and deprecates --producer-props; 3.9 not
        cmd+=(--bootstrap-server "$BOOTSTRAP" --command-property "$@")
      else
        cmd+=(--producer-props "bootstrap.servers=$BOOTSTRAP" "$@")
      fi
      ;;
    consume)
      local conf=$WORK/consumer.properties p
      printf '%s\n' "$@" >"$conf"
      cmd+=(org.apache.kafka.tools.ConsumerPerformance --bootstrap-server "$BOOTSTRAP"
        --topic "$topic" --messages "$n" --consumer.config "$conf"
        --timeout $((secs * 1000)))
      ;;
    txn)
      local payload classes p
      payload=$(java_payload_file "$size")
      classes=$(java_txn_classes)
      [[ -n $payload ]] || { echo "skip:TxnBench needs the payload file of rdkafka-bench"; return 0; }
      [[ -n $classes ]] || { echo "skip:bench/peers/TxnBench.java did not compile (javac missing?)"; return 0; }
      cmd[-1]+=":$classes"
      cmd+=(TxnBench produce -b "$BOOTSTRAP" -t "$topic" -n "$n" -s "$size"
        --txn-records "$TXN_RECORDS" --payload-file "$payload")
      for p in "$@"; do cmd+=(-X "$p"); done
      ;;
    *) echo "skip:the Java tools have no $mode benchmark like kwire-bench's"; return 0 ;;
  esac
  printf '%s\n' "${cmd[*]}" >>"$WORK/run.log"
  local rc=0
  "${cmd[@]}" </dev/null >"$WORK/java.out" 2>"$WORK/java.err" || rc=$?
  cat -- "$WORK/java.err" "$WORK/java.out" >>"$WORK/run.log"
  if ((rc == 124 || rc == 137)); then
    printf 'fail:killed by the %s s timeout\n' "$secs"
    return 0
  fi
  if [[ ! -s $WORK/java.time ]]; then
    printf 'fail:no resource usage from /usr/bin/time (exit code %s)\n' "$rc"
    return 0
  fi
  python3 - "$mode" "$topic" "$n" "$size" "$rate" "$WORK/java.out" "$WORK/java.time" <<'EOF'
import json, re, sys
mode, topic, n, size, rate, out_path, time_path = sys.argv[1:]
n, size, rate = int(n), int(size), float(rate)
out = open(out_path).read()
user, system, rss = open(time_path).read().split()[-3:]
r = {"client": "java", "topic": topic, "mode": mode, "record_size": size, "rate": rate,
     "cpu_s": float(user) + float(system), "max_rss_kb": int(rss)}
if mode == "txn":
    # TxnBench's own line, with the whole JVM's CPU time and peak RSS as for the other tools.
    lines = [l for l in out.splitlines() if l.startswith("{")]
    if not lines:
        print("fail:no result line from TxnBench"); sys.exit(0)
    own = json.loads(lines[-1])
    own.update(cpu_s=r["cpu_s"], max_rss_kb=r["max_rss_kb"])
    r = own
elif mode == "produce":
    m = None
    for m in re.finditer(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), "
                         r"([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, "
                         r"(\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th", out):
        pass
    if m is None:
        print("fail:no summary line from ProducerPerformance"); sys.exit(0)
    msgs, mps = int(m.group(1)), float(m.group(2))
    secs = msgs / mps if mps > 0 else 0
    r.update(msgs=msgs, failed=n - msgs, bytes=msgs * size, secs=secs, msgs_per_s=mps,
             mb_per_s=msgs * size / 2**20 / secs if secs else 0, p50_ms=float(m.group(6)),
             p95_ms=float(m.group(7)), p99_ms=float(m.group(8)), p999_ms=float(m.group(9)),
             max_ms=float(m.group(5)),
             mean_ms=float(m.group(4)))
else:
    rows = [l for l in out.splitlines() if re.match(r"^\d{4}-\d\d-\d\d", l)]
    if not rows:
        print("fail:no result line from ConsumerPerformance"); sys.exit(0)
    f = [x.strip() for x in rows[-1].split(",")]
    mb, msgs, fetch_ms = float(f[2]), int(f[4]), float(f[7])
    secs = fetch_ms / 1000
    r.update(msgs=msgs, failed=max(n - msgs, 0), bytes=int(mb * 2**20), secs=secs,
             msgs_per_s=msgs / secs if secs else 0, mb_per_s=mb / secs if secs else 0,
             p50_ms=-1, p99_ms=-1, p999_ms=-1)
print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}))
EOF
}

# ------------------------------------------------------------------ the runs

scenario_selected() { # $1 = name, $2 = on
  case ${WANT_SCENARIOS:-} in
    "") (($2)) ;;
    all) true ;;
    *) [[ ,$WANT_SCENARIOS, == *",$1,"* ]] ;;
  esac
}

records_of() { # $1 = records column, $2 = rate
  case $1 in
    N) echo "$RECORDS" ;;
    R) echo $(($2 * RATE_SECS)) ;;
    *) echo "$1" ;;
  esac
}

timeout_of() { # $1 = records, $2 = rate, $3 = mode: generous, but bounded
  if (($2 > 0)); then
    echo $((60 + 3 * $1 / $2 / 2))
  elif [[ ${3:-} == txn ]]; then # a commit a transaction: tens of thousands of records/s
    echo $((60 + $1 / 3000))
  else
    echo $((60 + $1 / 10000))
  fi
}

# A short unmeasured idempotent run, so that no client meets a cold broker (JIT, coordinator).
warm_up() {
  if ! have_bench rdkafka-bench; then
    note "no warm-up run: rdkafka-bench is not built"
    return 0
  fi
  local topic=bench-$RUN_ID-warmup
  create_topic "$topic"
  log "warming the broker up"
  run_native rdkafka-bench produce "$topic" $((QUICK ? 20000 : 300000)) 100 0 120 \
    "${COMMON_PRODUCER_PROPS[@]}" compression.type=lz4 >/dev/null || true
  if [[ " ${SELECTED_MODES[*]} " == *" txn "* ]]; then
    # The first transactional producer makes the broker create __transaction_state.
    log "warming the transaction coordinator up"
    run_native rdkafka-bench txn "$topic" $((QUICK ? 20000 : 100000)) 100 0 120 \
      "${COMMON_PRODUCER_PROPS[@]}" >/dev/null || true
  fi
}

# Fills the topic of a consume scenario once, with rdkafka-bench (the same payload).
fill_topic() { # $1 = topic, $2 = records, $3 = size, rest = producer properties
  local topic=$1 n=$2 size=$3
  shift 3
  have_bench rdkafka-bench || return 1
  create_topic "$topic"
  log "filling $topic with $n records"
  local line
  line=$(run_native rdkafka-bench produce "$topic" "$n" "$size" 0 "$(timeout_of "$n" 0)" "$@")
  [[ $(json_field failed "$line") == 0 ]]
}

modes_run=()
mode=
IFS=, read -r -a rdkafka_extra <<<"$RDKAFKA_PROPS"
[[ ,$CLIENTS, != *,java,* ]] || java_has_command_property || true # once, not in every subshell
SELECTED_MODES=()
for row in "${SCENARIOS[@]}"; do
  read -r name on mode _ <<<"$row"
  scenario_selected "$name" "$on" && SELECTED_MODES+=("$mode")
done
mode=
warm_up
date_start=$(date -u +%FT%TZ)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for row in "${SCENARIOS[@]}"; do
  read -r name on mode size rate records props <<<"$row"
  scenario_selected "$name" "$on" || continue
  n=$(records_of "$records" "$rate")
  secs=$(timeout_of "$n" "$rate" "$mode")
  IFS=, read -r -a extra <<<"${props:-}"
  props_all=("${extra[@]}")
  defaults=0
  [[ $name != defaults-* ]] || defaults=1
  if ((defaults)); then
    props_all=("${DEFAULTS_PRODUCER_PROPS[@]}" "${extra[@]}")
  elif [[ $mode != consume ]]; then
    props_all=("${COMMON_PRODUCER_PROPS[@]}" "${extra[@]}")
  fi
  [[ " ${modes_run[*]} " == *" $mode "* ]] || modes_run+=("$mode")
  log "scenario $name: $mode $n x $size B, rate ${rate/#0/unthrottled}, ${props_all[*]}"
  fill=
  desc=${props_all[*]}
  if [[ $mode == consume ]]; then
    fill=bench-$RUN_ID-$name
    if ! fill_topic "$fill" "$n" "$size" "${COMMON_PRODUCER_PROPS[@]}" "${extra[@]}"; then
      note "$name: skipped, the topic could not be filled (rdkafka-bench missing or failed)"
      continue
    fi
    desc="read from a topic filled by rdkafka-bench with ${COMMON_PRODUCER_PROPS[*]} ${extra[*]}"
    props_all=()
  fi
  # Rounds of one run per client, so that a slow spell of the machine (or the broker) falls on
  # every client rather than on the runs of one.
  for ((run = 1; run <= RUNS; run++)); do
    for client in ${CLIENTS//,/ }; do
      client_extra=()
      if [[ $client == librdkafka && $mode != consume ]] && ((!defaults)); then
        client_extra=("${rdkafka_extra[@]}")
      fi
      topic=${fill:-bench-$RUN_ID-$name-$client-$run}
      [[ -n $fill ]] || create_topic "$topic"
      sleep 2 # let the broker settle after the topic creation or the previous run
      log "  $client (run $run of $RUNS) ..."
      cpu0=$(broker_cpu_ticks)
      t0=$SECONDS
      line=$("run_$client" "$mode" "$topic" "$n" "$size" "$rate" "$secs" "${props_all[@]}" \
        "${client_extra[@]}") || true
      cpu1=$(broker_cpu_ticks)
      if [[ $line == skip:* ]]; then
        note "$name/$client: not run: ${line#skip:}"
        continue
      fi
      if [[ $line != "{"* ]]; then
        note "$name/$client: no result after $((SECONDS - t0)) s: ${line#fail:}"
        line='{"msgs":0,"failed":'$n',"rate":'$rate',"record_size":'$size',"error":"no result"}'
      fi
      python3 - "$line" "$name" "$client" "$mode" "${cpu0:-}" "${cpu1:-}" "$(getconf CLK_TCK)" \
        "$desc" "${client_extra[*]}" "$run" >>"$JSONL" <<'EOF'
import json, sys
line, scenario, runner, mode, c0, c1, tck, props, client_props, run = sys.argv[1:]
r = json.loads(line)
r.setdefault("mode", mode)
# "report": the compare.sh mode whose table the line goes to (txn lines are produce lines).
r.update(scenario=scenario, runner=runner, props=props, run=int(run), report=mode)
if client_props:
    r["client_props"] = client_props
if c0 and c1:
    r["broker_cpu_s"] = round((int(c1) - int(c0)) / int(tck), 2)
print(json.dumps(r))
EOF
      log "  $client: $(tail -n 1 "$JSONL")"
      failed=$(json_field failed "$(tail -n 1 "$JSONL")")
      [[ $failed == 0 ]] || note "$name/$client: $failed records failed (see the JSON lines)"
    done
  done
done
mode=
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------------ report

{
  echo "started=$date_start"
  echo "records=$RECORDS"
  echo "rate_secs=$RATE_SECS"
  echo "runs=$RUNS"
  echo "partitions=$PARTITIONS"
  echo "quick=$QUICK"
  echo "common=${COMMON_PRODUCER_PROPS[*]}"
  echo "rdkafka_extra=${rdkafka_extra[*]}"
  echo "load=$load_start -> $load_end (1/5/15 min)"
  echo "cpu=$(nproc) x $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)"
  echo "kernel=$(uname -r)"
  echo "kafka=$(basename "$(dirname "$LIBS")") (broker and Java tools), 1 node, on loopback"
  echo "librdkafka=$(pkg-config --modversion rdkafka 2>/dev/null || echo '?')"
  echo "java=$( ("$(java_cmd)" -version 2>&1 || true) | head -n 1)"
  echo "kwire=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')"
  echo "gnuplot=$(command -v gnuplot || true)"
} >"$WORK/meta"
suffix=
((QUICK)) && suffix=-quick
for mode in "${modes_run[@]}"; do
  base=$OUT/$mode$suffix
  python3 -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("report", r.get("mode")) == sys.argv[2]:
        sys.stdout.write(line)' "$JSONL" "$mode" >"$base.jsonl"
  rm -f -- "$base.md" "$base.png"
  python3 "$ROOT/bench/peers/report.py" "$base" "$mode" "$WORK/meta" "$NOTES" "$base.jsonl"
  if ! command -v gnuplot >/dev/null; then
    log "gnuplot is missing: no chart (scripts/setup.sh installs gnuplot-nox)"
  elif [[ -f $base.gnuplot ]]; then
    if gnuplot "$base.gnuplot" 2>"$WORK/gnuplot.log"; then
      log "chart: $base.png"
    else
      cat "$WORK/gnuplot.log" >&2
      log "gnuplot failed: no chart"
    fi
  fi
  rm -f -- "$base.gnuplot" "$base".*.dat
  log "table: $base.md"
  cat -- "$base.md"
done
REPORTED=1
