#!/usr/bin/env bash
# Cross-check kwire against the Java client's own classes, both directions:
#   kwire writes every message version -> Java decodes and compares (3 kafka-clients jars);
#   Java writes every message version -> kwire decodes and compares.
#   Record batches: each side writes scenarios, the other side dumps them (when built).
# Usage: crosscheck.sh BUILD_BIN_DIR   (exit 77 = skipped: no Java/Maven)
set -euo pipefail
bin=${1:?usage: crosscheck.sh BUILD_BIN_DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
java_run="$root/tests/interop/java/run.sh"
if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
  echo "SKIP: the Java cross-check needs java and mvn on PATH" >&2
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
schema="$root/protocol/schema"
declare -A jar_of=([primary]=4.4.0 [legacy-3.9.2]=3.9.2 [legacy-4.0.0]=4.0.0)

echo "== kwire writes, Java reads"
"$bin/kwire-xcheck-messages" write "$work/kwire" | tail -1
for set in primary legacy-3.9.2 legacy-4.0.0; do
  "$java_run" "${jar_of[$set]}" messages-verify --schema-dir "$schema" --in "$work/kwire" --set "$set" \
    | grep -v '^PASS'
done

echo "== Java writes, kwire reads"
for set in primary legacy-3.9.2 legacy-4.0.0; do
  "$java_run" "${jar_of[$set]}" messages-write --schema-dir "$schema" --out "$work/java" --set "$set" | tail -1
done
"$bin/kwire-xcheck-messages" verify "$work/java" | grep -v '^PASS'

if [ -x "$bin/kwire-xcheck-batches" ]; then
  echo "== record batches: Java writes, kwire reads"
  "$java_run" 4.4.0 batches-write --out "$work/jb" | tail -1
  n=0
  for f in "$work"/jb/batch-*.bin; do
    "$bin/kwire-xcheck-batches" dump "$f" > "$work/ours.dump"
    diff -u "${f%.bin}.dump" "$work/ours.dump" || { echo "FAIL batch $(basename "$f")"; exit 1; }
    n=$((n + 1))
  done
  echo "batches read by kwire: $n"
  echo "== record batches: kwire writes, Java reads"
  "$bin/kwire-xcheck-batches" write "$work/kb" | tail -1
  n=0
  for f in "$work"/kb/batch-*.bin; do
    "$java_run" 4.4.0 batches-dump "$f" > "$work/theirs.dump"
    diff -u "${f%.bin}.dump" "$work/theirs.dump" || { echo "FAIL batch $(basename "$f")"; exit 1; }
    n=$((n + 1))
  done
  echo "batches read by Java: $n"
fi
echo "cross-check: all passed"
