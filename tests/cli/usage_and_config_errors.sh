#!/usr/bin/env bash
# kwire's exit codes and messages where no broker is needed: help (0), usage and property
# errors (2, naming what was wrong), and runtime failures against a closed port (1).
#   usage_and_config_errors.sh KWIRE_BINARY
set -uo pipefail
kwire=${1:?usage: usage_and_config_errors.sh KWIRE_BINARY}
# Nothing listens on port 1 of the loopback: connecting fails at once.
closed=127.0.0.1:1
failures=0
checks=0
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

# expect STATUS TEXT [ARGS...]
source "$(dirname "${BASH_SOURCE[0]}")/expect_lib.sh"

# Help.
expect 0 "usage: kwire COMMAND" --help
expect 0 "usage: kwire COMMAND" help
expect 2 "usage: kwire COMMAND"
expect 2 "unknown command 'bogus'" bogus
expect 0 "usage: kwire produce" produce --help
expect 0 "usage: kwire produce" help produce
expect 0 "usage: kwire metadata" metadata -h
expect 0 "usage: kwire protocol" protocol --help
expect 0 "linger.ms" produce --help-properties
expect 0 "request.timeout.ms" metadata --help-properties
# The version of the CMake project, as kcat's -V.
for flag in --version -V; do
  checks=$((checks + 1))
  version=$("$kwire" "$flag" 2>&1)
  status=$?
  if [[ $status != 0 || ! $version =~ ^kwire\ [0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    failures=$((failures + 1))
    echo "FAIL: kwire $flag -> exit $status, printed '$version' (want 'kwire X.Y.Z')"
  fi
done

# Usage errors: exit 2, naming the option.
expect 2 "-b BOOTSTRAP is required" produce -t t
expect 2 "-t TOPIC is required" produce -b "$closed"
expect 2 "unknown option '--bogus'" produce -b "$closed" -t t --bogus
expect 2 "unexpected argument 'extra'" produce -b "$closed" -t t extra
expect 2 "option -t needs a value" produce -b "$closed" -t
expect 2 "option --abort takes no value" produce -b "$closed" -t t --abort=yes
expect 2 "-p: 'two' is not an int32" produce -b "$closed" -t t -p two
expect 2 "-p: a partition is -1 or more" produce -b "$closed" -t t -p -2
expect 2 "-z: unknown codec 'brotli'" produce -b "$closed" -t t -z brotli
expect 2 "-H expects NAME=VALUE or NAME, got '=v'" produce -b "$closed" -t t -H =v
expect 2 "-X expects PROPERTY=VALUE, got 'acks'" produce -b "$closed" -t t -X acks
expect 2 "-k: the key delimiter is empty" produce -b "$closed" -t t -k ''
expect 2 "needs one or two hex digits" produce -b "$closed" -t t -k '\xZZ'
expect 2 "-Z needs -k" produce -b "$closed" -t t -Z
expect 2 "-b BOOTSTRAP is required" metadata
expect 2 "unknown option '-p'" metadata -b "$closed" -p 1
expect 2 "option --json takes no value" protocol --json=yes
expect 0 "usage: kwire consume" consume --help
expect 0 "auto.offset.reset" consume --help-properties
# The default kwire consume uses (-o beginning), not the Java client's latest.
expect 0 "auto.offset.reset (enum, default earliest," consume --help-properties
expect 2 "-t TOPIC is required" consume -b "$closed"
expect 2 "-o: 'soon' is not beginning, end, OFFSET, -N or s@MILLIS" consume -b "$closed" -t t -o soon
expect 2 "-p and -G: the group assigns the partitions" consume -b "$closed" -t t -G g -p 0
expect 2 "-o with -G: only beginning or end" consume -b "$closed" -t t -G g -o 5
expect 2 "-G: the group name is empty" consume -b "$closed" -t t -G ""
expect 2 "-t: '^(t' is not a regular expression" consume -b "$closed" -t '^(t' -G g
expect 2 "-p: a partition is 0 or more" consume -b "$closed" -t t -p -1
# -f: as kcat, a % that is not one of its tokens is an error, not printed as it is.
expect 2 "-f: unsupported formatter '%z'" consume -b "$closed" -t t -f '[%z]'
expect 2 "-f: unsupported formatter '%R'" consume -b "$closed" -t t -f '%s %R\n'
expect 2 "-f: the format ends in a lone '%'" consume -b "$closed" -t t -f '%s %'
# A topic name Kafka would refuse is refused before connecting (exit 2, not 1).
expect 2 "-t: 'bad topic!' is not a valid topic name: it contains a space" \
  produce -b "$closed" -t 'bad topic!'
expect 2 "-t: 'a/b' is not a valid topic name: it contains '/'" consume -b "$closed" -t a/b
expect 2 "-t: '.' is not a valid topic name" metadata -b "$closed" -t .
expect 2 "-t: '..' is not a valid topic name" produce -b "$closed" -t ..
expect 2 "-t: '' is not a valid topic name: it is empty" produce -b "$closed" -t ''
expect 2 "is 250 characters long, more than the 249 allowed" \
  consume -b "$closed" -t "$(printf 'x%.0s' {1..250})"
expect 1 "127.0.0.1:1: Connection refused" \
  metadata -b "$closed" -t "$(printf 'x%.0s' {1..249})" -X request.timeout.ms=1500
expect 2 "linger.ms is a producer property, not a consumer property" \
  consume -b "$closed" -t t -X linger.ms=5
# read_committed is accepted (the broker is what fails here).
expect 1 "127.0.0.1:1: Connection refused" \
  consume -b "$closed" -t t -X isolation.level=read_committed -X request.timeout.ms=1500
expect 1 "127.0.0.1:1: Connection refused" consume -b "$closed" -t t -X request.timeout.ms=1500

# Property errors: exit 2 with the configuration's message, which names the property.
expect 2 "unknown property \"no.such.property\"" produce -b "$closed" -t t -X no.such.property=1
expect 2 "linger.ms" produce -b "$closed" -t t -X linger.ms=soon
expect 2 "acks" produce -b "$closed" -t t -X acks=most
expect 2 "bootstrap.servers" produce -b no-port -t t
expect 2 "--help-properties" produce -b "$closed" -t t -X batch.size=-5
expect 2 "acks" metadata -b "$closed" -X acks=all
expect 2 "request.timeout.ms" metadata -b "$closed" -X request.timeout.ms=forever
# Security settings that cannot work are configuration errors, never a plaintext run.
expect 2 "sasl.kerberos.service.name: must not be empty" \
  produce -b "$closed" -t t -X security.protocol=sasl_ssl -X sasl.kerberos.service.name=
expect 0 "sasl.kerberos.kinit.cmd" produce --help-properties
expect 2 "sasl.jaas.config: is required" \
  consume -b "$closed" -t t -X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=PLAIN
expect 2 "ssl.truststore.location: cannot read /nonexistent/ca.pem" \
  metadata -b "$closed" -X security.protocol=Ssl -X ssl.truststore.location=/nonexistent/ca.pem
expect 2 "sasl.jaas.config: option pasword" \
  produce -b "$closed" -t t -X security.protocol=SASL_SSL -X sasl.mechanism=PLAIN \
  -X 'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="u" pasword="hunter2";'
if grep -q hunter2 "$out" "$err"; then
  failures=$((failures + 1))
  echo "FAIL: a sasl.jaas.config error printed the password"
fi
expect 1 "127.0.0.1:1: Connection refused" \
  metadata -b "$closed" -X security.protocol=plaintext -X request.timeout.ms=1500
# A transaction against no reachable broker fails (not after max.block.ms); --abort alone is
# a usage error.
expect 1 "init_transactions: " produce -b "$closed" -t t -X transactional.id=tx
expect 2 "--abort needs -X transactional.id" produce -b "$closed" -t t --abort

# Runtime failures (exit 1). Metadata names each bootstrap server and what happened.
expect 1 "127.0.0.1:1: Connection refused" \
  metadata -b "$closed,localhost:1" -X request.timeout.ms=1500
expect 1 "localhost:1: Connection refused" \
  metadata -b "$closed,localhost:1" -X request.timeout.ms=1500
# kwire txn: usage errors, a malformed handle (exit 2 naming the problem), and help.
expect 0 "usage: kwire txn list" txn --help
expect 0 "usage: kwire txn list" help txn
expect 0 "usage: kwire txn list" txn list -h
expect 0 "transactional.id" txn commit --help-properties
expect 2 "usage: kwire txn list" txn
expect 2 "unknown action 'bogus'" txn bogus
expect 2 "-b BOOTSTRAP is required" txn list
expect 2 "txn describe needs a TRANSACTIONAL_ID" txn describe -b "$closed"
expect 2 "unexpected argument 'b'" txn describe -b "$closed" a b
expect 2 "txn list takes no argument" txn list -b "$closed" x
expect 2 "--json is for txn list" txn describe -b "$closed" x --json
expect 2 "txn commit needs a HANDLE" txn commit -b "$closed"
expect 2 "needs a HANDLE (kwtx1....) or --topic and --partition" txn abort -b "$closed"
expect 2 "needs --topic and --partition" txn abort -b "$closed" --topic t
expect 2 "either HANDLE or --topic and --partition" txn abort -b "$closed" kwtx1.x --topic t -p 0
expect 2 "--topic and --partition are for txn abort" txn commit -b "$closed" -t t
expect 2 "--producer-id is for txn list and txn abort" txn describe -b "$closed" x --producer-id 1
expect 2 "--state and --min-duration-ms are for txn list" txn describe -b "$closed" x --state Ongoing
expect 2 "--min-duration-ms must be >= 0" txn list -b "$closed" --min-duration-ms -1
expect 2 "--producer-id: 'p' is not a producer id" txn list -b "$closed" --producer-id p
expect 2 "--partition: 'x' is not an int32" txn abort -b "$closed" --topic t --partition x
expect 2 "'hello' is not a transaction handle: it does not start with kwtx1." \
  txn commit -b "$closed" hello
expect 2 "is not a transaction handle: an unknown handle format" txn abort -b "$closed" kwtx9.AAAA
expect 2 "is not a transaction handle: its base64 text, checksum or length is wrong" \
  txn commit -b "$closed" kwtx1.AAAAAAAA
expect 2 "transactional.id" txn list -b "$closed" -X transactional.id=x
# No input: nothing to send, exit 0 at once even without a broker.
expect 0 "0 records produced, 0 failed" produce -b "$closed" -t t
# Records that cannot be delivered: each one's reason, the summary, exit 1.
checks=$((checks + 1))
started=$SECONDS
printf 'one\ntwo\n' | "$kwire" produce -X bootstrap.servers="$closed" --topic=t -k: -Z \
  -X request.timeout.ms=1000 -X delivery.timeout.ms=1500 -X linger.ms=0 >"$out" 2>"$err"
status=$?
if [[ $status != 1 ]] || ! grep -qF "0 records produced, 2 failed" "$err" ||
  [[ $(grep -cF "delivery.timeout.ms passed" "$err") != 2 ]] || ((SECONDS - started > 10)); then
  failures=$((failures + 1))
  echo "FAIL: undeliverable records: exit $status after $((SECONDS - started)) s; stderr:"
  sed 's/^/  /' "$err"
fi

# SIGTERM (or SIGINT) stops the input; what was read is still delivered or failed, exit 1.
checks=$((checks + 1))
fifo=$(mktemp -u)
mkfifo "$fifo"
"$kwire" produce -b "$closed" -t t -X request.timeout.ms=1000 -X delivery.timeout.ms=1500 \
  -X linger.ms=0 <"$fifo" >"$out" 2>"$err" &
producer_pid=$!
exec 3>"$fifo"
printf 'one\n' >&3
sleep 2 # time to start and install the handler; the input stays open
kill -TERM "$producer_pid"
wait "$producer_pid"
status=$?
exec 3>&-
rm -f "$fifo"
if [[ $status != 1 ]] || ! grep -qF "interrupted: no input read after line 1" "$err" ||
  ! grep -qF "0 records produced, 1 failed" "$err"; then
  failures=$((failures + 1))
  echo "FAIL: SIGTERM while reading: exit $status; stderr:"
  sed 's/^/  /' "$err"
fi

if ((failures > 0)); then
  echo "$failures of $checks checks failed"
  exit 1
fi
echo "all $checks checks passed"
