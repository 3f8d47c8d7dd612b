#!/usr/bin/env bash
# `kwire metadata` against the Java admin tool's view of the same cluster: a topic made by
# kafka-topics with 3 partitions (replicated to every broker) must show up in --json and in
# the text output with the same topic id, leaders, replicas and ISR; the brokers must be
# the bootstrap's; asking about a missing topic fails without creating it. Then
# `kwire produce -p` writes to the named partition, and to a partition the topic lacks fails.
#   cli_metadata.sh KWIRE_BINARY   (KWIRE_BOOTSTRAP_FILE: the broker fixture's)
source "$(dirname "$0")/cli_lib.sh"
need_tool java "kafka-topics creates and describes the topic"
need_tool kcat "the librdkafka client that reads the records back"
need_tool python3 "checks the JSON"
use_fixture_broker

topic=cli-metadata-$run_id
IFS=, read -ra servers <<<"$bootstrap"
replication=${#servers[@]}
kafka_tool topics --bootstrap-server "$bootstrap" --create --topic "$topic" --partitions 3 \
  --replication-factor "$replication" >/dev/null
kafka_tool topics --bootstrap-server "$bootstrap" --describe --topic "$topic" >"$work/describe"

# The topic reaches every broker's metadata cache shortly after the controller made it.
for attempt in $(seq 1 20); do
  if "$kwire" metadata -b "$bootstrap" --json -t "$topic" >"$work/topic.json" 2>"$work/err"; then
    break
  fi
  ((attempt < 20)) || fail "kwire metadata -t $topic: $(cat "$work/err")"
  sleep 0.5
done
"$kwire" metadata -b "$bootstrap" --json >"$work/all.json" || fail "kwire metadata --json"
"$kwire" metadata -b "$bootstrap" >"$work/all.txt" || fail "kwire metadata"

python3 - "$work" "$topic" "$bootstrap" <<'PY' || fail "kwire metadata disagrees"
import json, re, sys
work, topic, bootstrap = sys.argv[1:]
servers = set(bootstrap.split(","))
problems = []
def check(ok, what):
    if not ok:
        problems.append(what)

# kafka-topics --describe: "TopicId: X" and one line per partition.
describe = open(f"{work}/describe").read()
java_id = re.search(r"TopicId: (\S+)", describe).group(1)
java_partitions = {}
for m in re.finditer(r"Partition: (\d+)\tLeader: (-?\d+)\tReplicas: ([\d,]*)\tIsr: ([\d,]*)",
                     describe):
    ids = lambda s: [int(x) for x in s.split(",") if x]
    java_partitions[int(m.group(1))] = (int(m.group(2)), ids(m.group(3)), ids(m.group(4)))
check(len(java_partitions) == 3, f"kafka-topics described {len(java_partitions)} partitions")

for name in ("topic.json", "all.json"):
    doc = json.load(open(f"{work}/{name}"))
    check(set(doc) == {"cluster_id", "controller_id", "brokers", "topics"}, f"{name}: keys {set(doc)}")
    check(isinstance(doc["cluster_id"], str) and doc["cluster_id"], f"{name}: cluster_id")
    brokers = doc["brokers"]
    ids = [b["id"] for b in brokers]
    check(ids == sorted(set(ids)), f"{name}: broker ids {ids} not unique and sorted")
    check({f'{b["host"]}:{b["port"]}' for b in brokers} == servers,
          f"{name}: brokers {brokers} are not the bootstrap servers {servers}")
    check(all(set(b) == {"id", "host", "port", "rack"} for b in brokers), f"{name}: broker keys")
    check(doc["controller_id"] in ids, f"{name}: controller {doc['controller_id']} not a broker")
    topics = {t["name"]: t for t in doc["topics"]}
    if name == "topic.json":
        check(list(topics) == [topic], f"{name}: topics {list(topics)}, want only {topic}")
    t = topics.get(topic)
    if t is None:
        problems.append(f"{name}: {topic} missing")
        continue
    check(t["error"] is None and not t["internal"], f"{name}: error {t['error']}, internal")
    check(t["topic_id"] == java_id, f"{name}: topic id {t['topic_id']}, kafka-topics {java_id}")
    check([p["partition"] for p in t["partitions"]] == [0, 1, 2], f"{name}: partitions")
    for p in t["partitions"]:
        want = java_partitions.get(p["partition"])
        got = (p["leader"], p["replicas"], p["isr"])
        check(got == want, f"{name}: partition {p['partition']} (leader, replicas, isr) {got}, "
                           f"kafka-topics {want}")
        check(p["leader_epoch"] >= 0 and p["error"] is None, f"{name}: partition {p}")

# The text output: kcat -L's lines.
text = open(f"{work}/all.txt").read()
check(f'topic "{topic}" with 3 partitions:' in text, "text: topic line")
for server in servers:
    check(re.search(rf"^  broker \d+ at {re.escape(server)}", text, re.M), f"text: broker {server}")
leader, replicas, isr = java_partitions[1]
line = (f"    partition 1, leader {leader}, leader epoch ")
check(line in text and f"replicas: {','.join(map(str, replicas))}, isrs: "
      f"{','.join(map(str, isr))}\n" in text, "text: partition 1 line")
if problems:
    print("\n".join("  " + p for p in problems))
    sys.exit(1)
print(f"kwire metadata agrees with kafka-topics on {topic}: id {java_id}, "
      f"{len(java_partitions)} partitions, leaders, replicas, ISR; brokers = bootstrap")
PY

# A topic that does not exist: exit 1, the error in the output, and not created by asking.
missing=cli-metadata-missing-$run_id
for round in 1 2; do
  if "$kwire" metadata -b "$bootstrap" --json -t "$missing" >"$work/missing.json" 2>"$work/err"; then
    fail "kwire metadata -t $missing exited 0"
  fi
  grep -qF '"error":{"code":3,"name":"UNKNOWN_TOPIC_OR_PARTITION"}' "$work/missing.json" ||
    fail "kwire metadata -t $missing (round $round): $(cat "$work/missing.json" "$work/err")"
done
echo "a missing topic: exit 1 with UNKNOWN_TOPIC_OR_PARTITION, and still missing after asking"

# -p: every record to partition 2; a partition the topic lacks fails each record, exit 1.
printf 'a\nb\nc\n' | "$kwire" produce -b "$bootstrap" -t "$topic" -p 2 2>"$work/err" ||
  fail "kwire produce -p 2: $(cat "$work/err")"
partitions=$(kcat -C -b "$bootstrap" -t "$topic" -o beginning -e -q -f '%p:%s\n' | sort | tr '\n' ' ')
[[ $partitions == "2:a 2:b 2:c " ]] || fail "kwire produce -p 2 wrote $partitions"
if printf 'x\ny\n' | "$kwire" produce -b "$bootstrap" -t "$topic" -p 3 2>"$work/err"; then
  fail "kwire produce -p 3 to a 3-partition topic exited 0"
fi
grep -qF "0 records produced, 2 failed" "$work/err" && grep -qF "no such partition" "$work/err" ||
  fail "kwire produce -p 3: $(cat "$work/err")"
echo "produce -p: records land in the partition named; a missing one fails each record"
echo "PASS"
