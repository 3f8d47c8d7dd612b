#!/usr/bin/env bash
# What `kwire consume` commits for a group is what it wrote, checked with the broker's own
# kafka-consumer-groups, not with kwire:
#   1. -G g -c 5 on 37 records prints offsets 0-4 and commits 5; the next -G g -c 5 run
#      prints 5-9 and commits 10;
#   2. -X group.id=g -c 2 (manual assignment with a group) commits 2;
#   3. -G g -e commits the end of the partition;
#   4. a slow reader and SIGINT: kwire finishes the line it is writing, exits 0, and the
#      committed offset is the one after the last line the reader got, which is whole.
# Usage: cli_group_commit.sh KWIRE (KWIRE_BOOTSTRAP_FILE from the broker fixture).
source "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"
need_tool java "the broker's kafka-consumer-groups"
need_tool python3 "the slow reader"
use_fixture_broker

topic="group-commit-$run_id"
kafka_tool topics --bootstrap-server "$bootstrap" --create --topic "$topic" --partitions 1 \
  --replication-factor 1 >/dev/null
seq 0 36 | "$kwire" produce -b "$bootstrap" -t "$topic" >/dev/null 2>"$work/produce.err" \
  || fail "kwire produce: $(cat "$work/produce.err")"

# committed GROUP TOPIC: the group's committed offset of partition 0 ("-" when none).
committed() {
  kafka_tool consumer-groups --bootstrap-server "$bootstrap" --describe --group "$1" \
    2>/dev/null | awk -v t="$2" '$2 == t && $3 == 0 { print $4 }'
}

# consume_offsets EXPECTED ARGS...: runs kwire consume printing offsets; checks exit 0 and
# that the offsets printed are EXPECTED (space separated).
consume_offsets() {
  local expected=$1
  shift
  local out
  out=$(timeout 60 "$kwire" consume -b "$bootstrap" -t "$topic" -f '%o\n' "$@" \
    2>"$work/consume.err") || fail "kwire consume $*: exit $?: $(cat "$work/consume.err")"
  out=$(echo $out)
  [[ $out == "$expected" ]] || fail "kwire consume $*: printed '$out', expected '$expected'"
}

# 1. -c with -G, twice.
consume_offsets "0 1 2 3 4" -G "g1-$run_id" -c 5
got=$(committed "g1-$run_id" "$topic")
[[ $got == 5 ]] || fail "-G -c 5: the group committed '$got', expected 5"
consume_offsets "5 6 7 8 9" -G "g1-$run_id" -c 5
got=$(committed "g1-$run_id" "$topic")
[[ $got == 10 ]] || fail "second -G -c 5: the group committed '$got', expected 10"
echo "ok: -G -c 5 commits 5, the next run starts there and commits 10"

# 2. group.id without -G.
consume_offsets "0 1" -X "group.id=g2-$run_id" -c 2
got=$(committed "g2-$run_id" "$topic")
[[ $got == 2 ]] || fail "-X group.id -c 2: the group committed '$got', expected 2"
echo "ok: -X group.id=g -c 2 commits 2"

# 3. -e: everything was written, so everything is committed.
consume_offsets "$(echo $(seq 0 36))" -G "g3-$run_id" -e
got=$(committed "g3-$run_id" "$topic")
[[ $got == 37 ]] || fail "-G -e: the group committed '$got', expected 37"
echo "ok: -G -e commits 37"

# 4. A slow reader, then SIGINT while kwire is blocked writing to it.
big="group-commit-big-$run_id"
kafka_tool topics --bootstrap-server "$bootstrap" --create --topic "$big" --partitions 1 \
  --replication-factor 1 >/dev/null
seq 0 299999 | "$kwire" produce -b "$bootstrap" -t "$big" >/dev/null 2>"$work/produce.err" \
  || fail "kwire produce: $(cat "$work/produce.err")"
mkfifo "$work/pipe"
# Reads 4 KiB every 20 ms (about 200 KB/s), far slower than kwire writes; the pipe fills.
python3 -c '
import os, sys, time
while True:
    chunk = os.read(0, 4096)
    if not chunk:
        break
    sys.stdout.buffer.write(chunk)
    time.sleep(0.02)
' <"$work/pipe" >"$work/slow.out" &
reader=$!
"$kwire" consume -b "$bootstrap" -t "$big" -G "g4-$run_id" -f 'offset %o\n' \
  -X auto.commit.interval.ms=200 >"$work/pipe" 2>"$work/slow.err" &
consumer=$!
sleep 4
[[ $(wc -c <"$work/slow.out") -gt 0 ]] || fail "the slow reader got nothing in 4 s: $(cat "$work/slow.err")"
kill -INT "$consumer"
status=0
timeout 60 tail --pid="$consumer" -f /dev/null || fail "kwire did not exit within 60 s of SIGINT"
wait "$consumer" || status=$?
wait "$reader"
[[ $status == 0 ]] || fail "SIGINT with a slow reader: exit $status: $(cat "$work/slow.err")"
grep -q "writing to standard output failed" "$work/slow.err" \
  && fail "SIGINT reported as a write failure: $(cat "$work/slow.err")"
[[ $(tail -c 1 "$work/slow.out" | od -An -c | tr -d ' ') == '\n' ]] \
  || fail "the last line is cut: '$(tail -c 40 "$work/slow.out")'"
lines=$(wc -l <"$work/slow.out")
last=$(tail -n 1 "$work/slow.out" | awk '{ print $2 }')
[[ $last == $((lines - 1)) ]] || fail "$lines lines but the last is offset $last"
((lines < 300000)) || fail "the reader got all 300000 lines before SIGINT: not a slow reader"
got=$(committed "g4-$run_id" "$big")
[[ $got == $((last + 1)) ]] \
  || fail "SIGINT: last line written is offset $last but the group committed '$got'"
echo "ok: SIGINT with a slow reader: exit 0, $lines whole lines, committed $got"
