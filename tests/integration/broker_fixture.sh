#!/usr/bin/env bash
# ctest fixture: start or stop the local Kafka cluster the integration tests share.
#   broker_fixture.sh up NODES DIR | down DIR
# Exit 77 (ctest: skipped) when Java is missing, saying so; the tests then skip themselves.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
case "${1:-}" in
  up)
    nodes=$2 dir=$3
    rm -f "$dir/bootstrap"
    if ! command -v java >/dev/null; then
      echo "SKIP: no java on PATH, so no local Kafka broker: integration tests will be skipped" >&2
      exit 77
    fi
    "$root/scripts/kafka-local.sh" down --dir "$dir" >/dev/null 2>&1 || true
    # KIP-848 members of the group tests time out after 10 s instead of 45 s
    # (cli_group_interop.sh relies on this value).
    KWIRE_KAFKA_BROKER_PROPS="group.consumer.session.timeout.ms=10000
group.consumer.min.session.timeout.ms=6000
group.consumer.heartbeat.interval.ms=2000
group.consumer.min.heartbeat.interval.ms=1000${KWIRE_KAFKA_BROKER_PROPS:+
$KWIRE_KAFKA_BROKER_PROPS}"
    export KWIRE_KAFKA_BROKER_PROPS
    # Several nodes: each in a rack of its own, for the follower-fetching test (KIP-392).
    racks=()
    ((nodes == 1)) || racks=(--racks)
    "$root/scripts/kafka-local.sh" up --nodes "$nodes" "${racks[@]}" --dir "$dir" | tail -1 | sed 's/^bootstrap=//' > "$dir.bootstrap"
    mv "$dir.bootstrap" "$dir/bootstrap"
    echo "broker(s) up (Kafka ${KWIRE_KAFKA_VERSION:-default}): $(cat "$dir/bootstrap")"
    ;;
  down)
    "$root/scripts/kafka-local.sh" down --dir "$2"
    ;;
  *)
    echo "usage: broker_fixture.sh up NODES DIR | down DIR" >&2
    exit 2
    ;;
esac
