#!/usr/bin/env bash
# tls.sh - what TLS costs a producer: kwire-bench over PLAINTEXT and over SSL, and
# rdkafka-bench (librdkafka) over SSL and PLAINTEXT, on one broker of
# `kafka-local.sh up --security`.
#
# Usage: bench/tls.sh [-n RECORDS] [--runs R] [--batch-size B] [--dir DIR] [--bin DIR]
#                     [--out FILE] [--clients LIST]
#   -n RECORDS      records a run (default 1000000), 100 B each, 6 partitions, no compression
#   --runs R        rounds (default 3); a round runs every client once, in turn, so that a
#                   busy moment of the machine does not fall on one client only
#   --batch-size B  batch.size of every client (default 1000000; librdkafka also gets
#                   batch.num.messages=1000000)
#   --dir DIR       the broker's directory (default /tmp/kwire-tls-bench; started and stopped
#                   here)
#   --bin DIR       where kwire-bench and rdkafka-bench are (default build/bin)
#   --out FILE      the JSON result lines, one a run, with "runner" added (default
#                   bench/results/tls.jsonl); the table goes to stdout
#   --clients LIST  comma-separated, of kwire-plaintext,kwire-ssl,librdkafka-ssl,
#                   librdkafka-plaintext (default all four)
# Every producer: acks=all, enable.idempotence=true, linger.ms=5. TLS: the cluster's CA, host
# name checked (127.0.0.1 is in the broker's certificate), TLS 1.3, OpenSSL's default suite.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT
RECORDS=1000000
RUNS=3
BATCH=1000000
DIR=/tmp/kwire-tls-bench
BIN=$ROOT/build/bin
OUT=$ROOT/bench/results/tls.jsonl
CLIENTS=kwire-plaintext,kwire-ssl,librdkafka-ssl,librdkafka-plaintext

die() { printf 'tls: error: %s\n' "$*" >&2; exit 1; }
while (($#)); do
  case $1 in
    -n) RECORDS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --batch-size) BATCH=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --bin) BIN=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1'" ;;
  esac
done

work=$(mktemp -d)
cleanup() {
  "$ROOT/scripts/kafka-local.sh" down --dir "$DIR" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
"$ROOT/scripts/kafka-local.sh" up --security --dir "$DIR" >"$work/up.out" 2>"$work/up.err" \
  || { cat "$work/up.err" >&2; die "kafka-local.sh up --security failed"; }
value() { sed -n "s/^$1=//p" "$work/up.out"; }
bootstrap=$(value bootstrap)
ssl=$(value ssl)
ca=$(value ca_pem)
broker_pid=$(cat "$DIR/node-1/pid")
common=(-X acks=all -X enable.idempotence=true -X linger.ms=5 -X compression.type=none
  -X "batch.size=$BATCH")

broker_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$broker_pid/stat"; }

run() { # RUNNER ROUND
  local runner=$1 topic=tls-$1-$2-$$ cmd
  "$ROOT/scripts/kafka-local.sh" tool topics --bootstrap-server "$bootstrap" --create \
    --topic "$topic" --partitions 6 --replication-factor 1 >/dev/null 2>&1 \
    || die "could not create $topic"
  sleep 2
  case $runner in
    kwire-plaintext) cmd=("$BIN/kwire-bench" produce -b "$bootstrap") ;;
    kwire-ssl) cmd=("$BIN/kwire-bench" produce -b "$ssl" -X security.protocol=SSL
      -X "ssl.truststore.location=$ca") ;;
    librdkafka-plaintext) cmd=("$BIN/rdkafka-bench" produce -b "$bootstrap"
      -X batch.num.messages=1000000) ;;
    librdkafka-ssl) cmd=("$BIN/rdkafka-bench" produce -b "$ssl" -X security.protocol=ssl
      -X "ssl.ca.location=$ca" -X batch.num.messages=1000000) ;;
    *) die "unknown client $runner" ;;
  esac
  local before after line
  before=$(broker_ticks)
  line=$(timeout 300 "${cmd[@]}" -t "$topic" -n "$RECORDS" -s 100 "${common[@]}" \
    2>"$work/err" | tail -n 1) || true
  after=$(broker_ticks)
  [[ $line == "{"* ]] || { cat "$work/err" >&2; die "$runner gave no result"; }
  python3 -c 'import json, sys, os
r = json.loads(sys.argv[1]); r["runner"] = sys.argv[2]; r["batch_size"] = int(sys.argv[5])
r["broker_cpu_s"] = (int(sys.argv[4]) - int(sys.argv[3])) / os.sysconf("SC_CLK_TCK")
print(json.dumps(r))' "$line" "$runner" "$before" "$after" "$BATCH" | tee -a "$OUT"
}

IFS=, read -r -a clients <<<"$CLIENTS"
for ((round = 1; round <= RUNS; round++)); do
  for c in "${clients[@]}"; do run "$c" "$round" >/dev/null; done
done
python3 - "$OUT" "$BATCH" "${clients[@]}" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rows = [r for r in rows if r.get("batch_size") == int(sys.argv[2])]
print("| client | runs | msgs/s median (range) | client CPU s median (range) | broker CPU s median | failed |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for c in sys.argv[3:]:
    rs = [r for r in rows if r["runner"] == c]
    if not rs: continue
    m = [r["msgs_per_s"] for r in rs]; cpu = [r["cpu_s"] for r in rs]
    b = [r["broker_cpu_s"] for r in rs]
    print(f"| {c} | {len(rs)} | {statistics.median(m):,.0f} ({min(m):,.0f}-{max(m):,.0f}) | "
          f"{statistics.median(cpu):.2f} ({min(cpu):.2f}-{max(cpu):.2f}) | "
          f"{statistics.median(b):.2f} | {sum(r['failed'] for r in rs)} |")
EOF
