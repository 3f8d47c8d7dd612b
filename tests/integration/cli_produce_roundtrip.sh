#!/usr/bin/env bash
# `kwire produce` read back byte-exact by two other clients, Debian's kcat (librdkafka) and
# the Java console consumer, and by `kwire consume` (kcat's format): keys split at -k, null keys and values (-Z), empty ones (no -Z),
# headers from -H (empty and null values, a repeated name, UTF-8), binary bytes (NUL, 0xff,
# '\r', a second delimiter inside the value), a 128 KiB value, a last line without '\n',
# an empty line (skipped), once with each codec; the broker's log must hold each run's
# batches with that run's codec.
#   cli_produce_roundtrip.sh KWIRE_BINARY   (KWIRE_BOOTSTRAP_FILE: the broker fixture's)
source "$(dirname "$0")/cli_lib.sh"
need_tool kcat "the librdkafka client that reads the records back"
need_tool java "the Java console consumer reads the records back"
need_tool python3 "writes the input and the expected outputs"
use_fixture_broker

codecs=(none gzip snappy lz4 zstd)
topic=cli-roundtrip-$run_id
headers=(-H 'greeting=hello world' -H 'empty=' -H 'nullvalue' -H 'utf8=✓ ü' -H 'greeting=again')
kcat_format='k=%K:%k v=%S:%s h=%h\n'

# The input, and what each reader must print for it (per run; runs repeat the same input).
python3 - "$work" "${#codecs[@]}" <<'PY'
import sys
work, runs = sys.argv[1], int(sys.argv[2])
lines = [
    b"k1\tv1",
    b"no delimiter: all value, null key",
    b"\tnull key by -Z",
    b"null value by -Z\t",
    b"bin\x00\x01\x7f\x80\xfe\xff\r\tvalue\x00with\tsecond tab\r",
    "ключ\tзначение ✓".encode(),
    b"",  # skipped, as kcat skips it
    b"big\t" + b"0123456789abcdef" * 8192,
    b"last\tline without a newline",
]
headers = [(b"greeting", b"hello world"), (b"empty", b""), (b"nullvalue", None),
           ("utf8".encode(), "✓ ü".encode()), (b"greeting", b"again")]

def record(line):  # kcat -K '\t' -Z
    if b"\t" not in line:
        return None, line
    key, value = line.split(b"\t", 1)
    return key or None, value or None

def kcat(key, value):  # -f 'k=%K:%k v=%S:%s h=%h\n'
    size = lambda b: b"-1" if b is None else str(len(b)).encode()
    h = b",".join(n + b"=" + (b"NULL" if v is None else v) for n, v in headers)
    return b"k=" + size(key) + b":" + (key or b"") + b" v=" + size(value) + b":" + \
        (value or b"") + b" h=" + h + b"\n"

def java(key, value):  # print.headers=true print.key=true, DefaultMessageFormatter
    h = b",".join(n + b":" + (b"null" if v is None else v) for n, v in headers)
    show = lambda b: b"null" if b is None else b
    return h + b"\t" + show(key) + b"\t" + show(value) + b"\n"

records = [record(l) for l in lines if l]
open(f"{work}/input", "wb").write(b"\n".join(lines))
open(f"{work}/records_per_run", "w").write(str(len(records)))
open(f"{work}/expected.kcat", "wb").write(b"".join(kcat(*r) for r in records) * runs)
open(f"{work}/expected.java", "wb").write(b"".join(java(*r) for r in records) * runs)
PY
records_per_run=$(cat "$work/records_per_run")
total=$((records_per_run * ${#codecs[@]}))

for codec in "${codecs[@]}"; do
  "$kwire" produce -b "$bootstrap" -t "$topic" -p 0 -k '\t' -Z "${headers[@]}" -z "$codec" \
    <"$work/input" 2>"$work/produce.err" || fail "kwire produce -z $codec: $(cat "$work/produce.err")"
  grep -qxF "$records_per_run records produced, 0 failed" "$work/produce.err" ||
    fail "kwire produce -z $codec summary: $(cat "$work/produce.err")"
done
echo "kwire produced $total records ($records_per_run per codec: ${codecs[*]})"

# show_difference NAME: where the actual output first differs from the expected one.
show_difference() {
  python3 - "$work/expected.$1" "$work/actual.$1" <<'PY'
import sys
want, got = (open(p, "rb").read().split(b"\n") for p in sys.argv[1:])
for i, (w, g) in enumerate(zip(want, got)):
    if w != g:
        print(f"  line {i + 1}:\n    want {w[:200]!r}\n    got  {g[:200]!r}")
        break
print(f"  {len(want) - 1} lines wanted, {len(got) - 1} read")
PY
}

kcat -C -b "$bootstrap" -t "$topic" -o beginning -e -q -f "$kcat_format" >"$work/actual.kcat"
if ! cmp -s "$work/expected.kcat" "$work/actual.kcat"; then
  show_difference kcat
  fail "kcat read something else than kwire produced"
fi
echo "kcat read all $total records byte-exact"

# kwire consume with kcat's format prints exactly what kcat printed.
"$kwire" consume -b "$bootstrap" -t "$topic" -e -f "$kcat_format" >"$work/actual.kwire" \
  2>"$work/consume.err" || fail "kwire consume: $(cat "$work/consume.err")"
cp "$work/expected.kcat" "$work/expected.kwire"
if ! cmp -s "$work/expected.kwire" "$work/actual.kwire"; then
  show_difference kwire
  fail "kwire consume read something else than kwire produced"
fi
echo "kwire consume read all $total records byte-exact (kcat's -f format)"

kafka_tool console-consumer --bootstrap-server "$bootstrap" --topic "$topic" --from-beginning \
  --max-messages "$total" --timeout-ms 60000 --property print.key=true \
  --property print.headers=true >"$work/java.out" 2>"$work/java.err" ||
  fail "console consumer: $(tail -5 "$work/java.err")"
# Kafka 4.x warns on stdout that --property is deprecated (--formatter-property, which 3.9
# lacks, replaces it).
LC_ALL=C sed '1{/^Option --property is deprecated/d}' "$work/java.out" >"$work/actual.java"
if ! cmp -s "$work/expected.java" "$work/actual.java"; then
  show_difference java
  fail "the Java console consumer read something else than kwire produced"
fi
echo "the Java console consumer read all $total records byte-exact"

# The broker stores batches as the producer compressed them (compression.type=producer):
# every batch of run i must carry codec i (attributes bits 0-2).
log_dir=$(compgen -G "$fixture_dir/node-*/data/$topic-0" | head -1) ||
  fail "no log directory for $topic-0 under $fixture_dir"
python3 - "$log_dir" "$records_per_run" "${codecs[@]}" <<'PY' || fail "batch codecs differ"
import glob, struct, sys
log_dir, per_run, codecs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
ids = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
data = b"".join(open(p, "rb").read() for p in sorted(glob.glob(f"{log_dir}/*.log")))
pos, batches, wrong = 0, 0, []
while pos + 61 <= len(data):
    base_offset, length = struct.unpack_from(">qi", data, pos)
    attributes, last_delta = struct.unpack_from(">hi", data, pos + 21)
    run = base_offset // per_run
    if run != (base_offset + last_delta) // per_run or attributes & 7 != ids[codecs[run]]:
        wrong.append((base_offset, last_delta, attributes & 7))
    pos += 12 + length
    batches += 1
if wrong or batches == 0:
    print(f"  {batches} batches; wrong (base offset, last delta, codec id): {wrong}")
    sys.exit(1)
print(f"the log holds {batches} batches, each with its run's codec")
PY

# Without -Z an empty key or value stays empty (length 0), not null; -p picks the partition.
printf '\tempty key\nempty value\t\n' |
  "$kwire" produce -b "$bootstrap" -t "$topic-empty" -k '\t' 2>"$work/produce.err" ||
  fail "kwire produce (empty key and value): $(cat "$work/produce.err")"
kcat -C -b "$bootstrap" -t "$topic-empty" -o beginning -e -q -f 'k=%K:%k v=%S:%s\n' \
  >"$work/actual.empty"
printf 'k=0: v=9:empty key\nk=11:empty value v=0:\n' >"$work/expected.empty"
cmp -s "$work/expected.empty" "$work/actual.empty" ||
  fail "empty key/value: want $(od -c "$work/expected.empty"), got $(od -c "$work/actual.empty")"
echo "without -Z, empty keys and values stay empty"
echo "PASS"
