#!/usr/bin/env bash
# `kwire protocol --json` must list every ApiKey of the Kafka 4.0 index (shipped as
# tests/cli/kafka-4.0-index.tsv) with a version range that contains every listed version.
set -euo pipefail
kwire=${1:?usage: protocol_json_covers_index.sh KWIRE_BINARY}
index="$(dirname "$0")/kafka-4.0-index.tsv"
json=$("$kwire" protocol --json)
python3 - "$index" "$json" <<'PY'
import json, sys
index, listed = sys.argv[1], json.loads(sys.argv[2])
by_key = {a["api_key"]: a for a in listed}
missing, checked = [], 0
for line in open(index).read().splitlines()[1:]:
    key, kind, name, versions, _flex = line.split("\t")
    if kind != "request" or not key:
        continue
    lo, _, hi = versions.partition("-")
    lo, hi = int(lo), int(hi or lo)
    a = by_key.get(int(key))
    if a is None or a["min"] > lo or a["max"] < hi:
        missing.append(f"{name} (key {key}) {versions}: kwire has {a and (a['min'], a['max'])}")
    checked += 1
if missing:
    print("not covered:\n  " + "\n  ".join(missing))
    sys.exit(1)
print(f"kwire protocol --json covers all {checked} API keys of the index at every listed version")
PY
