#!/usr/bin/env bash
# `kwire consume -X isolation.level=read_committed` against transactions librdkafka wrote:
# two transactional producers and a plain one interleave records on 3 partitions, over
# rounds that commit and abort (kwire-test-txn-produce), and leave one transaction open.
# read_committed prints exactly the committed records (and those of no transaction), in
# log order per partition, and -e ends before the open transaction; read_uncommitted prints
# every record; kcat -X isolation.level=read_committed prints the same partitions, offsets
# and values as kwire when it is on PATH.
#   cli_read_committed.sh KWIRE_BINARY   (KWIRE_BOOTSTRAP_FILE: the broker fixture's;
#   kwire-test-txn-produce beside KWIRE_BINARY, built when librdkafka is found)
source "$(dirname "$0")/cli_lib.sh"
txn_produce=$(dirname "$kwire")/kwire-test-txn-produce
[[ -x $txn_produce ]] || skip "no $txn_produce (built only when librdkafka is found)"
need_tool java "kafka-topics creates the topic"
use_fixture_broker

topic=cli-read-committed-$run_id
partitions=3
kafka_tool topics --bootstrap-server "$bootstrap" --create --topic "$topic" \
  --partitions "$partitions" --replication-factor 1 >/dev/null
for attempt in $(seq 1 20); do
  "$kwire" metadata -b "$bootstrap" -t "$topic" >/dev/null 2>"$work/err" && break
  ((attempt < 20)) || fail "kwire metadata -t $topic: $(cat "$work/err")"
  sleep 0.5
done

"$txn_produce" "$bootstrap" "$topic" "$partitions" 6 >"$work/written" 2>"$work/produce.err" ||
  fail "kwire-test-txn-produce: $(cat "$work/produce.err")"

# "PARTITION VALUE" lines in log order per partition (a stable sort by partition).
by_partition() { sort -s -n -k1,1; }
by_partition <"$work/written" >"$work/all"
grep -E '^[0-9]+ c-' "$work/all" >"$work/committed" || true
committed=$(wc -l <"$work/committed")
aborted=$(grep -cE '^[0-9]+ a-' "$work/all" || true)
open=$(grep -cE '^[0-9]+ o-' "$work/all" || true)
((committed > 0 && aborted > 0 && open == partitions)) ||
  fail "the producer wrote $committed committed, $aborted aborted, $open open records"

failures=0
# consume NAME WANT_FILE COMMAND...: COMMAND (printing "PARTITION OFFSET VALUE" lines) must
# print WANT_FILE's values, by partition in log order. Transaction markers reach the log
# shortly after a commit returns, so the last stable offset may trail for a moment: a few
# tries before it fails. Leaves the output in $work/NAME.out.
consume() {
  local name=$1 want=$2 status
  shift 2
  for attempt in $(seq 1 10); do
    status=0
    timeout 60 "$@" >"$work/$name.raw" 2>"$work/$name.err" || status=$?
    by_partition <"$work/$name.raw" >"$work/$name.out"
    if [[ $status == 0 ]] && cut -d' ' -f1,3- "$work/$name.out" | cmp -s - "$want"; then
      return 0
    fi
    sleep 1
  done
  failures=$((failures + 1))
  echo "FAIL: $name: exit $status, $(wc -l <"$work/$name.out") records, want $(wc -l <"$want"):"
  diff <(cut -d' ' -f1,3- "$work/$name.out") "$want" | head -20 | sed 's/^/  /'
  sed 's/^/  stderr: /' "$work/$name.err" | head -5
  return 1
}

consume kwire-read-committed "$work/committed" \
  "$kwire" consume -b "$bootstrap" -t "$topic" -e -f '%p %o %s\n' \
  -X isolation.level=read_committed
consume kwire-read-uncommitted "$work/all" \
  "$kwire" consume -b "$bootstrap" -t "$topic" -e -f '%p %o %s\n'
if [[ $(tail -n1 "$work/kwire-read-committed.err") != "kwire consume: $committed records" ]]; then
  failures=$((failures + 1))
  echo "FAIL: kwire consume read_committed summary: $(tail -n1 "$work/kwire-read-committed.err")"
fi

compared="not compared with kcat (not on PATH)"
if command -v kcat >/dev/null; then
  compared="kcat agrees"
  if consume kcat-read-committed "$work/committed" \
    kcat -C -b "$bootstrap" -t "$topic" -e -q -f '%p %o %s\n' -X isolation.level=read_committed
  then
    # The same records at the same offsets.
    if ! cmp -s "$work/kcat-read-committed.out" "$work/kwire-read-committed.out"; then
      failures=$((failures + 1))
      echo "FAIL: kcat and kwire read_committed differ:"
      diff "$work/kcat-read-committed.out" "$work/kwire-read-committed.out" | head -20
    fi
  fi
fi

((failures == 0)) || exit 1
echo "OK: read_committed $committed records (of $((committed + aborted + open)) written," \
  "$aborted aborted, $open left open), $compared"
