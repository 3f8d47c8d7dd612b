#!/usr/bin/env bash
# demo.sh - the main job: set-up, a local 3-node Kafka cluster, the exactly-once pipeline
# through a crash, and a short benchmark.
#
#   1. scripts/setup.sh (Debian packages, the pinned Kafka broker, build/)
#   2. a 3-node KRaft cluster on 127.0.0.1 (scripts/kafka-local.sh up --nodes 3, in
#      build/demo-kafka)
#   3. input: 200,000 keyed records written to a topic of 4 partitions with kwire produce,
#      while `kwire pipeline --semantic exactly_once` (parallelism 2, a checkpoint a second)
#      copies them to another topic of 4 partitions
#   4. the pipeline is SIGKILLed in the middle and started again with the same arguments: it
#      restores its latest completed checkpoint and goes on until the input is done
#   5. `kwire verify` reads both topics (read_committed) and prints its JSON: every input
#      record exactly once in the output, in order (lost, duplicated, reordered all 0)
#   6. a short benchmark: kwire-bench produce (200,000 x 100 B, lz4) and consume of them
#   7. micro benchmarks: CRC-32C and record batch encode/decode, uncompressed
#   8. the cluster is stopped and its data removed (also on failure or Ctrl-C)
set -euo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
build=${KWIRE_BUILD_DIR:-build}
[[ $build == /* ]] || build=$root/$build
dir=$build/demo-kafka
records=${KWIRE_DEMO_RECORDS:-200000}
say() { printf '\n== demo: %s\n' "$*"; }

say "set-up and build"
"$root/scripts/setup.sh"

say "starting a 3-node Kafka cluster (KRaft) on loopback"
"$root/scripts/kafka-local.sh" down --dir "$dir" >/dev/null 2>&1 || true
pipeline_pid=
cleanup() {
  [[ -z $pipeline_pid ]] || kill -9 -- "-$pipeline_pid" 2>/dev/null || true
  "$root/scripts/kafka-local.sh" down --dir "$dir" >/dev/null 2>&1 || true
}
trap cleanup EXIT
bootstrap=$("$root/scripts/kafka-local.sh" up --nodes 3 --dir "$dir" | tail -1 | sed 's/^bootstrap=//')
echo "bootstrap: $bootstrap"
mkdir -p "$dir"

run=$(date +%s)
in=kwire-demo-in-$run out=kwire-demo-out-$run
for t in "$in" "$out"; do
  "$root/scripts/kafka-local.sh" tool topics --bootstrap-server "$bootstrap" --create --topic "$t" \
    --partitions 4 --replication-factor 3 >/dev/null
done
echo "topics: $in -> $out (4 partitions each, 3 replicas)"

pipeline() {
  setsid "$build/bin/kwire" pipeline -b "$bootstrap" --source-topic "$in" --sink-topic "$out" \
    --checkpoint-dir "$dir/checkpoints-$run" --semantic exactly_once \
    --transactional-id-prefix "kwire-demo-$run" --parallelism 2 --checkpoint-interval-ms 1000 \
    "$@" 2>>"$dir/pipeline.log" &
  pipeline_pid=$!
}

say "input: $records records into $in while kwire pipeline (exactly once) copies them to $out"
pipeline
# The input in 10 parts over about 5 s, so that the kill below lands mid-copy.
(for part in $(seq 0 9); do
  seq $((part * records / 10 + 1)) $(((part + 1) * records / 10)) |
    awk '{print "key-" ($1 % 1000) "\tvalue-" $1}' |
    "$build/bin/kwire" produce -b "$bootstrap" -t "$in" -k '\t' -X linger.ms=20 2>/dev/null
  sleep 0.5
done) &
producer=$!
# The first start creates the brokers' transaction log (__transaction_state, 50 partitions):
# wait for two completed checkpoints, then kill.
for _ in $(seq 1 600); do
  (($(ls -d "$dir/checkpoints-$run"/chk-*/completed 2>/dev/null | wc -l) >= 2)) && break
  sleep 0.1
done

say "SIGKILL the pipeline mid-copy, then start it again with the same arguments"
kill -9 -- "-$pipeline_pid"
wait "$pipeline_pid" 2>/dev/null || true
echo "killed; checkpoints on disk:"
"$build/bin/kwire" checkpoint inspect "$dir/checkpoints-$run" | head -20 || true
pipeline --stop-after-idle-ms 5000
wait "$producer"
wait "$pipeline_pid"
pipeline_pid=
tail -n 3 "$dir/pipeline.log"

say "kwire verify: the output against the input, read_committed"
verify_json=$("$build/bin/kwire" verify -b "$bootstrap" --source-topic "$in" --sink-topic "$out" --json)
echo "$verify_json"

bench_topic=kwire-demo-bench-$(date +%s)
say "benchmark: kwire-bench produce and consume, 200,000 x 100 B, lz4, acks=all, idempotent"
produce_json=$("$build/bin/kwire-bench" produce -b "$bootstrap" -t "$bench_topic" -n 200000 -s 100 \
  -X compression.type=lz4 2>/dev/null | tail -1)
consume_json=$("$build/bin/kwire-bench" consume -b "$bootstrap" -t "$bench_topic" -n 200000 \
  2>/dev/null | tail -1)
echo "produce: $produce_json"
echo "consume: $consume_json"
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

say "micro benchmarks (one core; full figures: build/bin/kwire-microbench)"
"$build/bin/kwire-microbench" --benchmark_min_time=0.2 \
  --benchmark_filter='BM_Crc32c/1048576|BM_RecordBatch(Encode|Decode)/codec:0/'

say "summary"
echo "cluster: Kafka ${KWIRE_KAFKA_VERSION:-4.4.0 (pinned)}, 3 nodes at $bootstrap (stopped on exit)"
echo "exactly-once pipeline through a SIGKILL: $verify_json"
echo "benchmark: produce $(field "$produce_json" msgs_per_s) msgs/s ($(field "$produce_json" cpu_s) CPU s)," \
  "consume $(field "$consume_json" msgs_per_s) msgs/s ($(field "$consume_json" cpu_s) CPU s)"
