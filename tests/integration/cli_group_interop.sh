#!/usr/bin/env bash
# kwire consumers in consumer groups with other clients, on the fixture's broker:
#   1. classic: two `kwire consume -G` and one kcat -G (librdkafka) in one group;
#   2. classic: two `kwire consume -G` and one Java console consumer in one group;
#   3. KIP-848 (group.protocol=consumer, brokers 4.x): three kwire members, one SIGKILLed.
# In each, once the group is stable (kafka-consumer-groups: every member, every partition),
# records of the first batch must come from one member per partition, covering every
# partition. Then a member goes (SIGTERM: it commits and leaves; in 3, SIGKILL after its
# offsets were auto-committed), the others must take its partitions over (3: within the
# broker's session timeout), and after a second batch every record must have been printed
# exactly once across all members.
# Usage: cli_group_interop.sh KWIRE (KWIRE_BOOTSTRAP_FILE from the broker fixture).
source "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"
need_tool java "the broker and the Java console consumer"
use_fixture_broker

readonly partitions=6 batch=3000
# The fixture's broker sets group.consumer.session.timeout.ms to this (broker_fixture.sh).
readonly kip848_session_s=10
members=()  # "name pid" of every member still running

# Every member runs in a session of its own (setsid), so a signal reaches all of its
# processes (the Java tool is a script, timeout and a JVM).
stop_all() {
  local m
  for m in "${members[@]}"; do kill -9 -- "-${m#* }" 2>/dev/null || true; done
  members=()
}
trap 'stop_all; [[ -n ${KEEP_WORK:-} ]] && cp -r "$work" "$KEEP_WORK"; rm -rf "$work"' EXIT

create_topic() {
  kafka_tool topics --bootstrap-server "$bootstrap" --create --topic "$1" \
    --partitions "$partitions" --replication-factor 1 >/dev/null
}

# produce TOPIC FROM TO: keyed records "FROM".."TO" (the key spreads them over partitions).
produce() {
  seq "$2" "$3" | awk '{print "k" $1 "\t" $1}' | "$kwire" produce -b "$bootstrap" -t "$1" -k '\t' \
    >/dev/null 2>"$work/produce.err" || fail "kwire produce: $(cat "$work/produce.err")"
}

# Each member prints "PARTITION VALUE" lines to $work/NAME.out.
start_kwire() {
  local name=$1 topic=$2 group=$3
  shift 3
  setsid "$kwire" consume -b "$bootstrap" -t "$topic" -G "$group" -f '%p %s\n' \
    -X auto.commit.interval.ms=1000 "$@" >"$work/$name.out" 2>"$work/$name.err" &
  members+=("$name $!")
  disown
}
start_kcat() {
  local name=$1 topic=$2 group=$3
  setsid kcat -b "$bootstrap" -G "$group" -u -q -X auto.offset.reset=earliest \
    -X auto.commit.interval.ms=1000 -f '%p %s\n' "$topic" >"$work/$name.out" 2>"$work/$name.err" &
  members+=("$name $!")
  disown
}
start_java() {
  local name=$1 topic=$2 group=$3
  # Prints "Partition:P<TAB>VALUE" (see lines()).
  KWIRE_KAFKA_TOOL_TIMEOUT=600 setsid "$root/scripts/kafka-local.sh" tool console-consumer \
    --bootstrap-server "$bootstrap" --topic "$topic" --group "$group" --from-beginning \
    --property print.partition=true --property print.value=true \
    --consumer-property auto.commit.interval.ms=1000 >"$work/$name.out" 2>"$work/$name.err" &
  members+=("$name $!")
  disown
}

# stop_member NAME SIGNAL
stop_member() {
  local m keep=()
  for m in "${members[@]}"; do
    if [[ ${m% *} == "$1" ]]; then
      kill "-$2" -- "-${m#* }" 2>/dev/null || true
    else
      keep+=("$m")
    fi
  done
  members=("${keep[@]}")
}

# group_state GROUP: "MEMBERS PARTITIONS" from kafka-consumer-groups --describe --members.
group_state() {
  kafka_tool consumer-groups --bootstrap-server "$bootstrap" --describe --group "$1" --members \
    2>/dev/null | awk '
      /#PARTITIONS/ { for (i = 1; i <= NF; i++) if ($i == "#PARTITIONS") col = i; next }
      col && NF >= col { members++; parts += $col }
      END { print members + 0, parts + 0 }'
}

# group_stable GROUP: whether the coordinator calls the group Stable (classic: synced;
# KIP-848: every member reconciled to its target assignment).
group_stable() {
  kafka_tool consumer-groups --bootstrap-server "$bootstrap" --describe --group "$1" --state \
    2>/dev/null | awk '/STATE/ { for (i = 1; i <= NF; i++) if ($i == "STATE") col = i; next }
                       col && NF >= col { state = $col } END { exit state != "Stable" }'
}

# wait_group GROUP MEMBERS SECONDS: until the group is stable with MEMBERS members owning
# every partition.
wait_group() {
  local deadline=$((SECONDS + $3)) state=
  while ((SECONDS < deadline)); do
    if group_stable "$1"; then
      state=$(group_state "$1")
      [[ $state == "$2 $partitions" ]] && group_stable "$1" && return 0
    fi
    sleep 1
  done
  fail "group $1 did not become stable with $2 members owning $partitions partitions in $3 s (last: $state)"
}

# lines FILE...: the members' "PARTITION VALUE" lines (the Java tool's format rewritten, its
# notices on stdout left out).
lines() {
  sed -n 's/^Partition:\([0-9]*\)\t/\1 /; /^[0-9][0-9]* [0-9]/p' "${@/#/$work/}"
}

# wait_records COUNT SECONDS NAME...: until the members' outputs hold COUNT lines in all.
wait_records() {
  local count=$1 deadline=$((SECONDS + $2)) n
  shift 2
  while ((SECONDS < deadline)); do
    n=$(lines "$@" | wc -l)
    ((n >= count)) && return 0
    sleep 0.5
  done
  fail "only $n of $count records arrived within $2 s"
}

# check_split NAME...: each partition's records came from one member, every partition had some.
check_split() {
  local name
  for name in "$@"; do lines "$name.out.1" | awk -v m="$name" '{print $1, m}'; done | sort -u |
    awk -v want="$partitions" '
      { owners[$1]++ }
      END {
        for (p in owners) { n++; if (owners[p] != 1) { print "partition " p " read by " owners[p] " members"; bad = 1 } }
        if (n != want) { print n " of " want " partitions read"; bad = 1 }
        exit bad }' || fail "the first batch was not split over the members: see above"
}

# check_exactly_once COUNT NAME...
check_exactly_once() {
  local count=$1 dups unique
  shift
  dups=$(lines "$@" | awk '{print $2}' | sort -n | uniq -d | wc -l)
  unique=$(lines "$@" | awk '{print $2}' | sort -un | wc -l)
  ((dups == 0)) || fail "$dups records were read more than once"
  ((unique == count)) || fail "$unique of $count records were read"
}

# snapshot NAME...: keep what each member printed so far (the first batch) in NAME.out.1.
snapshot() {
  local name
  for name in "$@"; do cp "$work/$name.out" "$work/$name.out.1"; done
}

# classic_scenario THIRD: kwire, kwire and THIRD (kcat or java) in one classic group.
classic_scenario() {
  local third=$1 topic="kwire-groups-$1-$run_id" group="kwire-groups-$1-$run_id"
  create_topic "$topic"
  start_kwire k1 "$topic" "$group"
  start_kwire k2 "$topic" "$group"
  "start_$third" "$third" "$topic" "$group"
  wait_group "$group" 3 90
  produce "$topic" 1 "$batch"
  wait_records "$batch" 60 k1.out k2.out "$third.out"
  snapshot k1 k2 "$third"
  check_split k1 k2 "$third"
  # k1 commits its positions in the revocation and leaves; k2 and the other take over.
  stop_member k1 TERM
  wait_group "$group" 2 60
  produce "$topic" $((batch + 1)) $((2 * batch))
  wait_records $((2 * batch)) 60 k1.out k2.out "$third.out"
  sleep 1  # anything read twice would arrive now
  check_exactly_once $((2 * batch)) k1.out k2.out "$third.out"
  grep -q "revoked" "$work/k1.err" || fail "k1 did not report its revocation: $(cat "$work/k1.err")"
  stop_all
  echo "ok: classic group of 2 kwire + $third: split over 3 members, taken over after a leave, $((2 * batch)) records exactly once"
}

kip848_scenario() {
  local topic="kwire-groups-848-$run_id" group="kwire-groups-848-$run_id"
  create_topic "$topic"
  local m
  for m in c1 c2 c3; do start_kwire "$m" "$topic" "$group" -X group.protocol=consumer; done
  wait_group "$group" 3 90
  produce "$topic" 1 "$batch"
  wait_records "$batch" 60 c1.out c2.out c3.out
  snapshot c1 c2 c3
  check_split c1 c2 c3
  sleep 3  # auto.commit.interval.ms=1000: every position is committed by now
  local killed_at=$SECONDS
  stop_member c1 KILL
  wait_group "$group" 2 $((kip848_session_s + 30))
  local took=$((SECONDS - killed_at))
  # The broker notices the silence after the session timeout; the survivors then reconcile.
  ((took <= kip848_session_s + 10)) ||
    fail "the killed member's partitions were reassigned after $took s (session timeout ${kip848_session_s} s)"
  produce "$topic" $((batch + 1)) $((2 * batch))
  wait_records $((2 * batch)) 60 c1.out c2.out c3.out
  sleep 1
  check_exactly_once $((2 * batch)) c1.out c2.out c3.out
  stop_all
  echo "ok: KIP-848 group of 3 kwire: one SIGKILLed, its partitions reassigned in $took s, $((2 * batch)) records exactly once"
}

ran=0
if command -v kcat >/dev/null; then
  classic_scenario kcat
  ran=$((ran + 1))
else
  echo "note: no kcat on PATH: the librdkafka scenario is skipped"
fi
classic_scenario java
ran=$((ran + 1))
if kafka_tool broker-api-versions --bootstrap-server "$bootstrap" 2>/dev/null |
  grep -q 'ConsumerGroupHeartbeat(68): [0-9]* to [0-9]* \[usable'; then
  kip848_scenario
  ran=$((ran + 1))
else
  echo "note: the broker has no ConsumerGroupHeartbeat (KIP-848): that scenario is skipped"
fi
echo "ok: $ran group scenarios"
