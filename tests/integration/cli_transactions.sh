#!/usr/bin/env bash
# `kwire produce -X transactional.id=ID [--abort]`: committed and aborted transactions
# interleaved on a 3-partition topic, then read back by kcat (librdkafka) under
# read_committed (exactly the committed records, in order per partition) and
# read_uncommitted (every record). Also: --abort without transactional.id is a usage error,
# and a transactional.id the coordinator refuses (too long a transaction.timeout.ms) fails
# with the broker's error instead of hanging.
#   cli_transactions.sh KWIRE_BINARY   (KWIRE_BOOTSTRAP_FILE: the broker fixture's)
source "$(dirname "$0")/cli_lib.sh"
need_tool kcat "reads the records back under both isolation levels"
use_fixture_broker

topic=cli-txn-$run_id
kafka_tool topics --bootstrap-server "$bootstrap" --create --topic "$topic" --partitions 3 \
  >/dev/null 2>"$work/create.err" || fail "create topic: $(cat "$work/create.err")"

# Six transactions of 300 records under two transactional ids, keyed so that every partition
# gets records from each; odd ones aborted.
expected_committed=0
for t in 1 2 3 4 5 6; do
  id=cli-txn-$run_id-$((t % 2))
  seq 1 300 | awk -v t=$t '{printf "key%d\ttxn%d rec %d\n", $1 % 17, t, $1}' >"$work/in.$t"
  args=(-X "transactional.id=$id")
  ((t % 2)) && args+=(--abort)
  "$kwire" produce -b "$bootstrap" -t "$topic" -k '\t' "${args[@]}" <"$work/in.$t" \
    2>"$work/produce.$t.err" || fail "transaction $t: $(cat "$work/produce.$t.err")"
  if ((t % 2)); then
    grep -q "transaction aborted (300 records)" "$work/produce.$t.err" ||
      fail "transaction $t was not reported aborted: $(cat "$work/produce.$t.err")"
  else
    grep -q "transaction committed (300 records)" "$work/produce.$t.err" ||
      fail "transaction $t was not reported committed: $(cat "$work/produce.$t.err")"
    expected_committed=$((expected_committed + 300))
  fi
done
echo "kwire produced 6 transactions of 300 records, 3 committed and 3 aborted"

kcat -C -b "$bootstrap" -t "$topic" -o beginning -e -q -X isolation.level=read_committed \
  -f '%p %s\n' >"$work/committed" 2>"$work/kcat.err" || fail "kcat: $(cat "$work/kcat.err")"
kcat -C -b "$bootstrap" -t "$topic" -o beginning -e -q -X isolation.level=read_uncommitted \
  -f '%p %s\n' >"$work/uncommitted" 2>>"$work/kcat.err" || fail "kcat: $(cat "$work/kcat.err")"

# kwire's own consumer under read_committed: the same records as kcat, in the same order.
"$kwire" consume -b "$bootstrap" -t "$topic" -e -X isolation.level=read_committed \
  -f '%p %s\n' >"$work/kwire.committed" 2>"$work/kwire.err" ||
  fail "kwire consume read_committed: $(cat "$work/kwire.err")"
for p in 0 1 2; do
  cmp -s <(grep "^$p " "$work/committed") <(grep "^$p " "$work/kwire.committed") ||
    fail "partition $p: kwire consume (read_committed) and kcat read different records"
done
echo "kwire consume -X isolation.level=read_committed read what kcat read"

python3 - "$work" <<'PY' || fail "what kcat read differs from the committed transactions"
import collections, sys
work = sys.argv[1]
def read(name):
    by_partition = collections.defaultdict(list)
    for line in open(f"{work}/{name}"):
        p, value = line.rstrip("\n").split(" ", 1)
        by_partition[p].append(value)
    return by_partition
committed, everything = read("committed"), read("uncommitted")
got = sorted(v for vs in committed.values() for v in vs)
want = sorted(f"txn{t} rec {i}" for t in (2, 4, 6) for i in range(1, 301))
if got != want:
    missing, extra = set(want) - set(got), set(got) - set(want)
    print(f"read_committed: {len(got)} records, {len(missing)} missing, {len(extra)} not committed"
          f" (e.g. {sorted(extra)[:3]}), {len(got) - len(set(got))} duplicated")
    sys.exit(1)
# In order per partition: within a transaction the record numbers rise.
for p, values in committed.items():
    last = {}
    for v in values:
        t, _, n = v.split(" ")
        if int(n) <= last.get(t, 0):
            print(f"partition {p}: {v} after record {last[t]} of {t}")
            sys.exit(1)
        last[t] = int(n)
total = sum(len(v) for v in everything.values())
if total != 1800:
    print(f"read_uncommitted: {total} records, 1800 wanted")
    sys.exit(1)
print(f"read_committed: the {len(got)} committed records, in order; "
      f"read_uncommitted: all {total}")
PY

# --abort needs a transactional.id: a usage error (exit 2), nothing sent.
set +e
echo x | "$kwire" produce -b "$bootstrap" -t "$topic" --abort 2>"$work/usage.err"
status=$?
set -e
[[ $status -eq 2 ]] || fail "--abort without transactional.id exited $status: $(cat "$work/usage.err")"
grep -q "transactional.id" "$work/usage.err" || fail "usage error does not name transactional.id"

# A transaction.timeout.ms above the broker's transaction.max.timeout.ms (15 min): the
# coordinator refuses InitProducerId, and kwire says so at once (not after max.block.ms).
set +e
start=$(date +%s)
echo x | "$kwire" produce -b "$bootstrap" -t "$topic" -X transactional.id=cli-txn-$run_id-long \
  -X transaction.timeout.ms=3600000 2>"$work/timeout.err"
status=$?
elapsed=$(($(date +%s) - start))
set -e
[[ $status -eq 1 ]] || fail "an invalid transaction timeout exited $status: $(cat "$work/timeout.err")"
grep -q "INVALID_TRANSACTION_TIMEOUT\|transaction timeout" "$work/timeout.err" ||
  fail "the error does not name the invalid timeout: $(cat "$work/timeout.err")"
((elapsed < 30)) || fail "the refused InitProducerId took ${elapsed}s"
echo "an invalid transaction.timeout.ms fails in ${elapsed}s: $(head -1 "$work/timeout.err")"
echo "PASS"
