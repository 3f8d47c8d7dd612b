#!/usr/bin/env bash
# pipeline.sh - the connector pipeline's throughput, CPU and source-to-commit latency, per
# delivery guarantee (issue 17, point 7).
#
# Usage: bench/pipeline.sh [options]
#   -b BOOTSTRAP        use this (loopback) cluster instead of starting a 3-node one
#   -n RECORDS          input records of 100 B (default 1000000), keyed over 4 partitions
#   --interval-ms MS    checkpoint interval (default 1000)
#   --parallelism P     subtasks (default 2)
#   --semantics LIST    comma-separated (default none,at_least_once,exactly_once)
#   --bin DIR           where kwire and kwire-bench are (default build/bin)
#
# The input topic is filled once (kwire-bench produce); then, for each guarantee, `kwire
# pipeline` copies it to a fresh output topic from a fresh checkpoint directory and ends once
# it has been idle 2 s. For each run it prints the pipeline's own figures (records/s from its
# first record to its last, source-to-commit latency p50/p99/max over every record) and the
# process's CPU time and peak RSS (GNU time), then `kwire verify` on the output. A table at
# the end; the raw lines in OUT (default bench/results/pipeline.jsonl, --out FILE).
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT
bootstrap="" records=1000000 interval=1000 parallelism=2 semantics=none,at_least_once,exactly_once
bin=$ROOT/build/bin out=$ROOT/bench/results/pipeline.jsonl
while (($#)); do
  case $1 in
    -b) bootstrap=$2; shift 2 ;;
    -n) records=$2; shift 2 ;;
    --interval-ms) interval=$2; shift 2 ;;
    --parallelism) parallelism=$2; shift 2 ;;
    --semantics) semantics=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "pipeline.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for tool in "$bin/kwire" "$bin/kwire-bench" /usr/bin/time; do
  [[ -x $tool ]] || { echo "pipeline.sh: $tool not found (build first; GNU time: apt-get install time)" >&2; exit 2; }
done

work=$(mktemp -d)
cluster=""
cleanup() {
  [[ -n $cluster ]] && "$ROOT/scripts/kafka-local.sh" down --dir "$cluster" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
if [[ -z $bootstrap ]]; then
  cluster=$work/cluster
  "$ROOT/scripts/kafka-local.sh" up --nodes 3 --dir "$cluster" >"$work/cluster.log" 2>&1 ||
    { cat "$work/cluster.log" >&2; exit 1; }
  bootstrap=$(cat "$cluster/bootstrap")
fi
nodes=$(tr ',' '\n' <<<"$bootstrap" | wc -l)
replicas=$((nodes >= 3 ? 3 : 1))
topic() {
  "$ROOT/scripts/kafka-local.sh" tool topics --bootstrap-server "$bootstrap" --create \
    --topic "$1" --partitions 4 --replication-factor "$replicas" >/dev/null
}

run=$(date +%s)
in=pipeline-bench-in-$run
topic "$in"
echo "pipeline.sh: filling $in with $records records of 100 B" >&2
"$bin/kwire-bench" produce -b "$bootstrap" -t "$in" -n "$records" -s 100 --keys 1000 \
  -X batch.size=1000000 >/dev/null 2>"$work/fill.err" || { cat "$work/fill.err" >&2; exit 1; }

mkdir -p "$(dirname "$out")"
rows=()
IFS=, read -r -a wanted <<<"$semantics"
for semantic in "${wanted[@]}"; do
  sink=pipeline-bench-out-$run-$semantic
  topic "$sink"
  echo "pipeline.sh: $semantic" >&2
  /usr/bin/time -f '%U %S %M' -o "$work/time" "$bin/kwire" pipeline -b "$bootstrap" \
    --source-topic "$in" --sink-topic "$sink" --checkpoint-dir "$work/ckpt-$semantic" \
    --semantic "$semantic" --transactional-id-prefix "bench-$run-$semantic" \
    --checkpoint-interval-ms "$interval" --parallelism "$parallelism" \
    --stop-after-idle-ms 2000 2>"$work/$semantic.err" ||
    { tail "$work/$semantic.err" >&2; exit 1; }
  read -r user sys rss_kb <"$work/time"
  rate=$(sed -n 's/.*: \([0-9]*\) records\/s$/\1/p' "$work/$semantic.err")
  read -r p50 p99 max < <(sed -n 's/.*latency of [0-9]* records: p50 \([0-9.]*\) ms, p99 \([0-9.]*\) ms, max \([0-9.]*\) ms$/\1 \2 \3/p' "$work/$semantic.err")
  verify=$("$bin/kwire" verify -b "$bootstrap" --source-topic "$in" --sink-topic "$sink" --json 2>/dev/null || true)
  cpu=$(awk -v u="$user" -v s="$sys" -v n="$records" 'BEGIN { printf "%.2f", (u + s) * 1000000 / n }')
  line="{\"semantic\":\"$semantic\",\"records\":$records,\"parallelism\":$parallelism,\"interval_ms\":$interval,\"records_per_s\":${rate:-0},\"cpu_s_per_1m\":$cpu,\"commit_p50_ms\":${p50:-0},\"commit_p99_ms\":${p99:-0},\"commit_max_ms\":${max:-0},\"max_rss_mb\":$((rss_kb / 1024)),\"verify\":${verify:-null}}"
  echo "$line" >>"$out"
  rows+=("| $semantic | ${rate:-?} | $cpu | ${p50:-?} | ${p99:-?} | ${max:-?} | $((rss_kb / 1024)) | ${verify:-verify failed} |")
done

echo
echo "kwire pipeline, $records x 100 B, 4 -> 4 partitions, parallelism $parallelism, checkpoint interval $interval ms, $nodes node(s)"
echo
echo "| semantic | records/s | CPU s / 1M | source-to-commit p50 ms | p99 ms | max ms | max RSS MB | verify |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
printf '%s\n' "${rows[@]}"
