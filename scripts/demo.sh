#!/usr/bin/env bash
# demo.sh - the main job: set-up, a local Kafka broker, records round-tripped, a short benchmark.
#
#   1. scripts/setup.sh (Debian packages, the pinned Kafka broker, build/)
#   2. a 1-node KRaft broker on 127.0.0.1 (scripts/kafka-local.sh up, in build/demo-kafka)
#   3. kwire's protocol layer negotiates versions, creates a topic, produces one batch per
#      codec (none, gzip, snappy, lz4, zstd) and fetches them back (the live-broker test,
#      pointed at the topic named here)
#   4. librdkafka's kcat reads the same records, so a second client confirms what kwire wrote,
#      and `kwire consume` must print exactly what kcat printed
#   5. a short benchmark: kwire-bench produce (200,000 x 100 B, lz4) and consume of them
#   6. micro benchmarks: CRC-32C and record batch encode/decode, uncompressed
#   7. the broker is stopped and its data removed (also on failure or Ctrl-C)
#
# Until the connector exists, this is the demo; the exactly-once pipeline replaces step 3-4.
set -euo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
build=${KWIRE_BUILD_DIR:-build}
[[ $build == /* ]] || build=$root/$build
dir=$build/demo-kafka
say() { printf '\n== demo: %s\n' "$*"; }

say "set-up and build"
"$root/scripts/setup.sh"

say "starting a 1-node Kafka broker (KRaft) on loopback"
"$root/scripts/kafka-local.sh" down --dir "$dir" >/dev/null 2>&1 || true
trap '"$root/scripts/kafka-local.sh" down --dir "$dir" >/dev/null 2>&1 || true' EXIT
bootstrap=$("$root/scripts/kafka-local.sh" up --nodes 1 --dir "$dir" | tail -1 | sed 's/^bootstrap=//')
echo "bootstrap: $bootstrap"
mkdir -p "$dir"
echo "$bootstrap" > "$dir/bootstrap"

topic=kwire-demo-$(date +%s)
say "kwire: ApiVersions, Metadata, CreateTopics '$topic', Produce and Fetch of every codec"
KWIRE_BOOTSTRAP_FILE=$dir/bootstrap KWIRE_LIVE_TOPIC=$topic \
  "$build/bin/kwire-integration-tests" --gtest_brief=1 \
  --gtest_filter='*MetadataCreateTopicsProduceAndFetchEveryCodec*'

say "kcat (librdkafka) reads what kwire wrote to $topic partition 0"
kcat -b "$bootstrap" -C -t "$topic" -p 0 -o beginning -e -q \
  -f 'offset=%o key=%k value=%s headers=%h\n' | tee "$dir/kcat.out"
records=$(wc -l < "$dir/kcat.out")
if ((records != 20)); then
  echo "demo: expected 20 records (4 per codec), kcat read $records" >&2
  exit 1
fi

say "kwire consume reads the same records, in kcat's format"
"$build/bin/kwire" consume -b "$bootstrap" -t "$topic" -p 0 -e \
  -f 'offset=%o key=%k value=%s headers=%h\n' > "$dir/kwire.out"
if ! cmp -s "$dir/kcat.out" "$dir/kwire.out"; then
  echo "demo: kwire consume printed something else than kcat:" >&2
  diff "$dir/kcat.out" "$dir/kwire.out" >&2 || true
  exit 1
fi
echo "kwire consume printed the same $records records as kcat"

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
echo "broker: Kafka ${KWIRE_KAFKA_VERSION:-4.4.0 (pinned)} at $bootstrap (stopped on exit)"
echo "records: 20 written by kwire in 5 codecs, fetched back by kwire, read by kcat and kwire consume"
echo "benchmark: produce $(field "$produce_json" msgs_per_s) msgs/s ($(field "$produce_json" cpu_s) CPU s)," \
  "consume $(field "$consume_json" msgs_per_s) msgs/s ($(field "$consume_json" cpu_s) CPU s)"
