#!/usr/bin/env bash
# `kwire consume -o OFFSET` as kcat: partitions holding 4, 2 and 6 records; an absolute
# offset past a partition's end prints nothing of that partition (kcat starts at its end),
# one inside prints from there. kcat reads the same offsets for comparison when it is on
# PATH. Also the singular in the summaries: "1 record produced", "kwire consume: 1 record".
#   cli_consume_offsets.sh KWIRE_BINARY   (KWIRE_BOOTSTRAP_FILE: the broker fixture's)
source "$(dirname "$0")/cli_lib.sh"
need_tool java "kafka-topics creates the topic"
use_fixture_broker

topic=cli-offsets-$run_id
kafka_tool topics --bootstrap-server "$bootstrap" --create --topic "$topic" --partitions 3 \
  --replication-factor 1 >/dev/null

# The topic reaches the brokers' metadata caches shortly after the controller made it.
for attempt in $(seq 1 20); do
  "$kwire" metadata -b "$bootstrap" -t "$topic" >/dev/null 2>"$work/err" && break
  ((attempt < 20)) || fail "kwire metadata -t $topic: $(cat "$work/err")"
  sleep 0.5
done

# produce PARTITION COUNT: COUNT records to PARTITION; checks the summary line.
produce() {
  local partition=$1 count=$2 noun=records
  ((count == 1)) && noun=record
  seq 1 "$count" | "$kwire" produce -b "$bootstrap" -t "$topic" -p "$partition" \
    2>"$work/produce.err" || fail "kwire produce -p $partition: $(cat "$work/produce.err")"
  grep -qxF "$count $noun produced, 0 failed" "$work/produce.err" ||
    fail "kwire produce of $count: the summary is not '$count $noun produced, 0 failed':
$(cat "$work/produce.err")"
}
produce 0 1
produce 0 3
produce 1 2
produce 2 6

failures=0
# expect_offsets WHERE EXPECTED...: `kwire consume -e -o WHERE` prints exactly the
# partition:offset pairs EXPECTED (in any order across partitions) and exits 0.
expect_offsets() {
  local where=$1
  shift
  local expected got status
  expected=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
  status=0
  timeout 60 "$kwire" consume -b "$bootstrap" -t "$topic" -e -o "$where" -f '%p:%o\n' \
    >"$work/consume.out" 2>"$work/consume.err" || status=$?
  got=$(sort "$work/consume.out")
  if [[ $status != 0 || $got != "$expected" ]]; then
    failures=$((failures + 1))
    echo "FAIL: kwire consume -e -o $where: exit $status, printed [$(echo $got)], want [$(echo $expected)]"
    sed 's/^/  stderr: /' "$work/consume.err"
  fi
  if [[ -n ${check_kcat:-} ]]; then
    got=$(timeout 60 kcat -C -b "$bootstrap" -t "$topic" -e -q -o "$where" -f '%p:%o\n' 2>/dev/null | sort || true)
    if [[ $got != "$expected" ]]; then
      failures=$((failures + 1))
      echo "FAIL: kcat -C -e -o $where printed [$(echo $got)], want [$(echo $expected)] (the test's model of kcat is wrong)"
    fi
  fi
}
command -v kcat >/dev/null && check_kcat=1

expect_offsets 100 ''
expect_offsets 6 ''
expect_offsets 5 2:5
expect_offsets 3 0:3 2:3 2:4 2:5
expect_offsets 1 0:1 0:2 0:3 1:1 2:1 2:2 2:3 2:4 2:5
expect_offsets beginning 0:{0..3} 1:{0..1} 2:{0..5}
expect_offsets end ''

# One partition, an offset past its end: nothing, exit 0.
timeout 60 "$kwire" consume -b "$bootstrap" -t "$topic" -p 1 -e -o 100 -f '%p:%o\n' \
  >"$work/consume.out" 2>"$work/consume.err" || { failures=$((failures + 1)); echo "FAIL: -p 1 -o 100 exit $?"; }
[[ ! -s $work/consume.out ]] || { failures=$((failures + 1)); echo "FAIL: -p 1 -o 100 printed $(cat "$work/consume.out")"; }

# The summary of one record is singular.
timeout 60 "$kwire" consume -b "$bootstrap" -t "$topic" -p 2 -o 5 -c 1 >/dev/null \
  2>"$work/consume.err" || true
grep -qxF "kwire consume: 1 record" "$work/consume.err" ||
  { failures=$((failures + 1)); echo "FAIL: consume -c 1 summary: $(cat "$work/consume.err")"; }

((failures == 0)) || fail "$failures checks failed"
echo "consume -o OFFSET starts past-the-end partitions at their end, as kcat${check_kcat:+ (checked with kcat)}"
