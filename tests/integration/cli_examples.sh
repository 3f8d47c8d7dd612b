#!/usr/bin/env bash
# The programs in examples/ against the fixture's broker, in the order a new user runs them:
#   1. admin_topic creates a 3-partition topic;
#   2. producer_callbacks sends 20 records, producer_coroutine 15; each reports every one
#      delivered;
#   3. admin_topic again: the topic exists, and its partitions end at 35 records in all;
#   4. consumer_group (a group member, manual commits) reads until it has 35 records: each
#      value produced exactly once, and the group's committed offsets, as the broker's own
#      kafka-consumer-groups shows them, equal each partition's end offset.
# Usage: cli_examples.sh KWIRE EXAMPLES_DIR (KWIRE_BOOTSTRAP_FILE from the broker fixture).
source "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"
examples=${2:?usage: $0 KWIRE EXAMPLES_DIR}
need_tool java "the broker's kafka-consumer-groups"
use_fixture_broker

topic="examples-$run_id"
group="examples-group-$run_id"

# run NAME ARGS...: runs examples/NAME (at most 120 s), its stdout in $work/NAME.out.
run() {
  local name=$1
  shift
  timeout 120 "$examples/$name" "$@" >"$work/$name.out" 2>"$work/$name.err" \
    || fail "$name $*: exit $?: $(cat "$work/$name.err")"
}

run admin_topic "$bootstrap" "$topic" 3
grep -q "^created $topic with 3 partitions" "$work/admin_topic.out" \
  || fail "admin_topic printed: $(cat "$work/admin_topic.out")"
echo "ok: admin_topic created $topic"

run producer_callbacks "$bootstrap" "$topic" 20
delivered=$(grep -c ' delivered to ' "$work/producer_callbacks.out")
[[ $delivered == 20 ]] || fail "producer_callbacks: $delivered of 20 delivered"
run producer_coroutine "$bootstrap" "$topic" 15
delivered=$(grep -c ' delivered to ' "$work/producer_coroutine.out")
[[ $delivered == 15 ]] || fail "producer_coroutine: $delivered of 15 delivered"
echo "ok: producer_callbacks and producer_coroutine delivered 20 + 15 records"

run admin_topic "$bootstrap" "$topic" 3
grep -q "^topic $topic exists already" "$work/admin_topic.out" \
  || fail "admin_topic again printed: $(cat "$work/admin_topic.out")"
total=$(awk '$1 == "partition" && $3 == "ends" { sum += $5 } END { print sum + 0 }' \
  "$work/admin_topic.out")
[[ $total == 35 ]] || fail "admin_topic: partitions end at $total records in all, expected 35"
echo "ok: admin_topic describes $topic: 35 records"

run consumer_group "$bootstrap" "$topic" "$group" 35
grep -q '^assigned: ' "$work/consumer_group.out" \
  || fail "consumer_group printed no assignment: $(head -5 "$work/consumer_group.out")"
# Record lines: TOPIC/PARTITION@OFFSET KEY VALUE (the value has spaces).
got=$(grep "^$topic/" "$work/consumer_group.out" | cut -d' ' -f3- | sort)
expected=$({
  for i in $(seq 0 19); do echo "callback message $i"; done
  for i in $(seq 0 14); do echo "coroutine message $i"; done
} | sort)
[[ $got == "$expected" ]] || fail "consumer_group read other records than were produced:
$(diff <(echo "$expected") <(echo "$got"))"
echo "ok: consumer_group read each of the 35 records once"

# Per partition of the topic: CURRENT-OFFSET (committed) and LOG-END-OFFSET.
kafka_tool consumer-groups --bootstrap-server "$bootstrap" --describe --group "$group" \
  >"$work/describe.out" 2>&1 || fail "kafka-consumer-groups --describe: $(cat "$work/describe.out")"
rows=$(awk -v t="$topic" '$2 == t' "$work/describe.out")
[[ $(wc -l <<<"$rows") == 3 ]] || fail "expected 3 partitions of $topic in: $(cat "$work/describe.out")"
awk '$4 != $5 { bad = 1 } END { exit bad }' <<<"$rows" \
  || fail "committed offsets differ from the end offsets: $rows"
echo "ok: group $group committed the end offset of every partition"
