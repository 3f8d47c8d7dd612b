#!/usr/bin/env bash
# rss_test.sh - how much memory kwire's consumer holds while it reads a large topic.
#
# Usage: bench/rss_test.sh [options]
#   --gib G            data to write and read, in GiB (default 10)
#   --size BYTES       record size (default 1024)
#   --partitions P     partitions of the topic (default 4)
#   --passes LIST      ';'-separated consumer passes, each a ','-separated list of consumer
#                      properties ("default" = none). Default:
#                      "default;fetch.max.bytes=16777216,max.partition.fetch.bytes=16777216;
#                       max.partition.fetch.bytes=52428800"
#   --time-limit SECS  the whole test stops after this long (default 1800)
#   --dir DIR          the broker's directory (default /tmp/kb-rss; removed at the end)
#   --bin DIR          where kwire-bench and rdkafka-bench are (default build/bin)
#
# It starts a 1-node broker (scripts/kafka-local.sh up --dir DIR), fills one topic of P
# partitions with G GiB of uncompressed records (rdkafka-bench, 1 MB batches), then runs
# kwire-bench consume over the whole topic once per pass, sampling the consumer's VmRSS
# every 100 ms from /proc, and prints for each pass the peak RSS (the highest sample and the
# kernel's VmHWM) next to fetch.max.bytes. The broker is stopped and DIR removed on every
# exit, Ctrl-C and the time limit included. Needs about G GiB + 2 GiB free under DIR.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT
readonly KAFKA_LOCAL=$ROOT/scripts/kafka-local.sh

GIB=10
SIZE=1024
PARTITIONS=4
PASSES="default;fetch.max.bytes=16777216,max.partition.fetch.bytes=16777216;max.partition.fetch.bytes=52428800"
TIME_LIMIT=1800
DIR=/tmp/kb-rss
BIN=$ROOT/build/bin

log() { printf 'rss_test: %s\n' "$*" >&2; }
die() { printf 'rss_test: error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; }
need_value() { (($2 >= 2)) || { usage; die "$1 needs a value"; }; }
while (($#)); do
  case $1 in
    --gib) need_value "$1" $#; GIB=$2; shift 2 ;;
    --size) need_value "$1" $#; SIZE=$2; shift 2 ;;
    --partitions) need_value "$1" $#; PARTITIONS=$2; shift 2 ;;
    --passes) need_value "$1" $#; PASSES=$2; shift 2 ;;
    --time-limit) need_value "$1" $#; TIME_LIMIT=$2; shift 2 ;;
    --dir) need_value "$1" $#; DIR=$2; shift 2 ;;
    --bin) need_value "$1" $#; BIN=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage; die "unknown argument '$1'" ;;
  esac
done
for v in GIB SIZE PARTITIONS TIME_LIMIT; do
  [[ ${!v} =~ ^[0-9]+$ ]] && ((${!v} > 0)) || die "${v,,} needs a positive whole number"
done
for b in kwire-bench rdkafka-bench; do [[ -x $BIN/$b ]] || die "$BIN/$b is not built"; done
[[ ! -e $DIR ]] || die "$DIR exists: remove it or pick another --dir"

readonly RECORDS=$((GIB * 1024 * 1024 * 1024 / SIZE))
mkdir -p -- "$(dirname -- "$DIR")"
free_kb=$(df -Pk -- "$(dirname -- "$DIR")" | awk 'NR == 2 { print $4 }')
((free_kb > (GIB + 2) * 1024 * 1024)) \
  || die "only $((free_kb / 1024 / 1024)) GiB free under $(dirname -- "$DIR"), need $((GIB + 2))"

STARTED=0
WATCHDOG=
CONSUMER=
cleanup() {
  local rc=$?
  [[ -z $WATCHDOG ]] || kill "$WATCHDOG" 2>/dev/null || true
  [[ -z $CONSUMER ]] || kill "$CONSUMER" 2>/dev/null || true
  if ((STARTED)); then
    log "stopping the broker, removing $DIR"
    "$KAFKA_LOCAL" down --dir "$DIR" >/dev/null 2>&1 || log "could not stop the broker in $DIR"
  fi
  rm -rf -- "$DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# The time limit: a watchdog that stops this script (its trap then cleans up); every command
# below also gets the time left as its own timeout, since bash runs a trap only between them.
# (Its sleep goes when it is stopped, so that nothing holds this script's output open.)
(
  trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
  sleep "$TIME_LIMIT" &
  sleeper=$!
  wait "$sleeper" && log "time limit of $TIME_LIMIT s reached" && kill -TERM $$
) &
WATCHDOG=$!
deadline=$((SECONDS + TIME_LIMIT))
left() { echo $((deadline - SECONDS > 1 ? deadline - SECONDS : 1)); }

log "starting a broker in $DIR"
STARTED=1
BOOTSTRAP=$(timeout -k 10 300 "$KAFKA_LOCAL" up --nodes 1 --dir "$DIR" | sed -n 's/^bootstrap=//p')
[[ -n $BOOTSTRAP ]] || die "the broker did not start"
readonly TOPIC=rss-test
KWIRE_KAFKA_TOOL_TIMEOUT=120 "$KAFKA_LOCAL" tool topics --bootstrap-server "$BOOTSTRAP" --create \
  --topic "$TOPIC" --partitions "$PARTITIONS" --replication-factor 1 >/dev/null

log "filling $TOPIC: $RECORDS records of $SIZE B ($GIB GiB), $PARTITIONS partitions, no compression"
t0=$SECONDS
line=$("$BIN/rdkafka-bench" produce -b "$BOOTSTRAP" -t "$TOPIC" -n "$RECORDS" -s "$SIZE" \
  -X compression.type=none -X batch.size=1000000 -X batch.num.messages=1000000 -X linger.ms=20 \
  --timeout "$(left)" 2>/dev/null | tail -n 1)
[[ $line == *'"failed":0,'* ]] || die "the fill failed: $line"
log "filled in $((SECONDS - t0)) s; $(du -sh -- "$DIR" | cut -f1) on disk"

kb() { awk -v k="$1" '$1 == k ":" { print $2 }' "/proc/$2/status" 2>/dev/null || true; }

printf '\n| pass | fetch.max.bytes | max.partition.fetch.bytes | msgs/s | peak VmRSS MB | VmHWM MB | peak / fetch.max.bytes |\n'
printf '| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n'
IFS=';' read -r -a passes <<<"$PASSES"
for pass in "${passes[@]}"; do
  props=()
  fetch_max=52428800
  partition_max=1048576
  if [[ $pass != default ]]; then
    IFS=',' read -r -a kv <<<"$pass"
    for p in "${kv[@]}"; do
      props+=(-X "$p")
      case $p in
        fetch.max.bytes=*) fetch_max=${p#*=} ;;
        max.partition.fetch.bytes=*) partition_max=${p#*=} ;;
      esac
    done
  fi
  log "pass '$pass': reading all $RECORDS records"
  out=$(mktemp /tmp/rss_test.XXXXXX)
  "$BIN/kwire-bench" consume -b "$BOOTSTRAP" -t "$TOPIC" -n "$RECORDS" "${props[@]}" \
    --timeout "$(left)" >"$out" 2>/dev/null &
  pid=$!
  CONSUMER=$pid
  peak=0
  hwm=0
  while kill -0 "$pid" 2>/dev/null; do
    rss=$(kb VmRSS "$pid")
    h=$(kb VmHWM "$pid")
    [[ -z $rss ]] || ((rss <= peak)) || peak=$rss
    [[ -z $h ]] || ((h <= hwm)) || hwm=$h
    sleep 0.1
  done
  wait "$pid" || log "pass '$pass': kwire-bench exited with $?"
  CONSUMER=
  result=$(tail -n 1 "$out")
  rm -f -- "$out"
  # ru_maxrss of the JSON line covers the last 100 ms the sampling may have missed.
  maxrss=$(python3 -c 'import json, sys
try: print(json.loads(sys.argv[1])["max_rss_kb"])
except (ValueError, KeyError): print(0)' "$result")
  ((maxrss <= hwm)) || hwm=$maxrss
  rate=$(python3 -c 'import json, sys
try:
    r = json.loads(sys.argv[1]); print("%.0f%s" % (r["msgs_per_s"], "" if r["failed"] == 0 else " (%d failed)" % r["failed"]))
except (ValueError, KeyError): print("no result")' "$result")
  awk -v pass="$pass" -v fm="$fetch_max" -v pm="$partition_max" -v rate="$rate" -v peak="$peak" \
    -v hwm="$hwm" 'BEGIN { printf "| %s | %d | %d | %s | %.1f | %.1f | %.2f |\n",
      pass, fm, pm, rate, peak / 1024, hwm / 1024, hwm * 1024 / fm }'
done
