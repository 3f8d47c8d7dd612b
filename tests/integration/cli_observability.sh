#!/usr/bin/env bash
# -d and --metrics against the fixture's broker: kwire-bench produce -d broker,eos logs the
# connection and the producer id on stderr (timestamp, level, category) while the JSON line
# stays the last stdout line; --metrics prints the Prometheus text of the producer and of a
# consumer; an unknown category is a usage error (exit 2) naming the allowed ones, for
# kwire-bench and for kwire's commands.
#   cli_observability.sh KWIRE_BINARY   (kwire-bench is taken from the same directory)
source "$(dirname "$0")/cli_lib.sh"
bench=$(dirname "$kwire")/kwire-bench
[[ -x $bench ]] || skip "no kwire-bench beside $kwire (KWIRE_BUILD_BENCH off)"
use_fixture_broker

topic=cli-observability-$run_id
stamp='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'

"$bench" produce -b "$bootstrap" -t "$topic" -n 2000 -s 100 -d broker,eos --metrics \
  >"$work/produce.out" 2>"$work/produce.err" || fail "produce: $(cat "$work/produce.err")"
grep -Eq "^$stamp INFO broker \[producer kwire\] connected to node [0-9-]+ \(" "$work/produce.err" \
  || fail "produce -d broker: no connect line on stderr: $(cat "$work/produce.err")"
grep -Eq "^$stamp INFO eos \[producer kwire\] producer id [0-9]+ epoch [0-9]+" "$work/produce.err" \
  || fail "produce -d eos: no producer id line on stderr: $(cat "$work/produce.err")"
grep -Eq "^$stamp DEBUG broker \[producer kwire\] ApiVersions v[0-9]+ negotiated with " \
  "$work/produce.err" || fail "produce -d broker: no ApiVersions line: $(cat "$work/produce.err")"
if grep -q ' protocol \[' "$work/produce.err"; then fail "produce -d broker,eos logged protocol lines"; fi
tail -n 1 "$work/produce.out" | grep -q '^{"client":"kwire",.*"mode":"produce",' \
  || fail "produce: the last stdout line is not the JSON line: $(tail -n 1 "$work/produce.out")"
[[ $(grep -c . "$work/produce.out") == 1 ]] || fail "produce: stdout has more than the JSON line"
grep -q '^kwire_producer_records_sent_total{client_id="kwire",mode="produce"} 2000$' \
  "$work/produce.err" || fail "produce --metrics: $(grep kwire_ "$work/produce.err")"
grep -q '^# TYPE kwire_producer_request_latency_seconds summary$' "$work/produce.err" \
  || fail "produce --metrics: no latency summary"

"$bench" consume -b "$bootstrap" -t "$topic" -n 2000 --metrics -d fetch \
  >"$work/consume.out" 2>"$work/consume.err" || fail "consume: $(cat "$work/consume.err")"
tail -n 1 "$work/consume.out" | grep -q '^{"client":"kwire",.*"mode":"consume",' \
  || fail "consume: the last stdout line: $(tail -n 1 "$work/consume.out")"
grep -q '^kwire_consumer_records_received_total{client_id="kwire",mode="consume"} 2000$' \
  "$work/consume.err" || fail "consume --metrics: $(grep kwire_ "$work/consume.err")"
grep -Eq '^kwire_consumer_partition_lag\{client_id="kwire",mode="consume",topic="'"$topic"'",partition="0"\} 0$' \
  "$work/consume.err" || fail "consume --metrics: no lag of partition 0: $(grep lag "$work/consume.err")"
echo "--- the consumer's metrics (kwire-bench consume --metrics):"
grep -E '^(# |kwire_)' "$work/consume.err"

rc=0
"$bench" produce -b "$bootstrap" -t "$topic" -n 1 -s 10 -d broker,nope >/dev/null 2>"$work/bad.err" || rc=$?
((rc == 2)) || fail "kwire-bench -d nope: exit $rc (want 2)"
grep -q '"nope" is not a debug category; allowed: all, broker, protocol, metadata, producer, eos, consumer, fetch, cgrp, admin, security' \
  "$work/bad.err" || fail "kwire-bench -d nope: $(cat "$work/bad.err")"
for command in metadata produce consume; do
  rc=0
  "$kwire" "$command" -b "$bootstrap" -t "$topic" -d nope </dev/null >/dev/null 2>"$work/bad.err" || rc=$?
  ((rc == 2)) || fail "kwire $command -d nope: exit $rc (want 2): $(cat "$work/bad.err")"
  grep -q 'allowed: all, broker,' "$work/bad.err" || fail "kwire $command -d nope: $(cat "$work/bad.err")"
done

rc=0
"$kwire" protocol -d nope >/dev/null 2>"$work/bad.err" || rc=$?
((rc == 2)) && grep -q 'allowed: all, broker,' "$work/bad.err" \
  || fail "kwire protocol -d nope: exit $rc: $(cat "$work/bad.err")"

"$kwire" metadata -b "$bootstrap" -t "$topic" --json -d broker,metadata \
  >"$work/metadata.out" 2>"$work/metadata.err" || fail "kwire metadata -d: $(cat "$work/metadata.err")"
grep -Eq "^$stamp INFO broker \[client kwire\] connected to node" "$work/metadata.err" \
  || fail "kwire metadata -d broker: $(cat "$work/metadata.err")"
grep -q '"topics"' "$work/metadata.out" || fail "kwire metadata --json -d: stdout $(cat "$work/metadata.out")"
echo "one" | "$kwire" produce -b "$bootstrap" -t "$topic" -d all >/dev/null 2>"$work/kp.err" \
  || fail "kwire produce -d all: $(cat "$work/kp.err")"
grep -Eq "^$stamp DEBUG protocol \[producer kwire\] sent Produce v[0-9]+" "$work/kp.err" \
  || fail "kwire produce -d all: no protocol line: $(cat "$work/kp.err")"
echo "-d and --metrics checks passed"
