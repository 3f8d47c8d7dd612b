# Sourced by the cli_*.sh integration tests: skip rules, the fixture's broker, and tools.
# Sets: kwire (the binary, $1 of the test), root (the repository), work (a scratch directory
# removed on exit), run_id (unique per run, for topic names); use_fixture_broker sets the rest.
set -euo pipefail
kwire=${1:?usage: $0 KWIRE_BINARY (KWIRE_BOOTSTRAP_FILE from the broker fixture)}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

skip() {
  echo "SKIP: $*"
  exit 77
}

# need_tool NAME WHY: skip unless NAME is on PATH.
need_tool() {
  command -v "$1" >/dev/null || skip "no $1 on PATH ($2)"
}

# After the need_tool checks: sets bootstrap and fixture_dir from the fixture, or skips.
use_fixture_broker() {
  local bootstrap_file=${KWIRE_BOOTSTRAP_FILE:-}
  [[ -n $bootstrap_file ]] || skip "KWIRE_BOOTSTRAP_FILE is not set (run through ctest's fixture)"
  [[ -s $bootstrap_file ]] || skip "no broker: $bootstrap_file is missing (the fixture skipped)"
  bootstrap=$(cat "$bootstrap_file")
  fixture_dir=$(dirname "$bootstrap_file")
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run_id="$(date +%s)-$$"

# Starts its own `kafka-local.sh up --security` cluster in $work/kafka (skips without java
# or openssl), stopped on exit; `value NAME` reads a line it printed (in $work/up.out).
start_security_cluster() {
  need_tool java "runs the broker"
  need_tool openssl "makes the test certificates"
  cluster=$work/kafka
  trap '"$root/scripts/kafka-local.sh" down --dir "$cluster" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
  KWIRE_KAFKA_UP_TIMEOUT=90 "$root/scripts/kafka-local.sh" up --security --dir "$cluster" \
    >"$work/up.out" 2>"$work/up.err" || { cat "$work/up.err"; fail "kafka-local.sh up --security"; }
}
value() { sed -n "s/^$1=//p" "$work/up.out"; }

# check NAME EXPECTED_RC CMD...: runs CMD (60 s at most) and counts a failure unless it exits
# EXPECTED_RC within CHECK_MAX seconds (default 60). Its output is in $work/last and also in
# $work/all.out, which the security tests search for secrets at the end.
failures=0
check() {
  local name=$1 want=$2 max=${CHECK_MAX:-60}
  shift 2
  local rc=0 t0=$SECONDS
  timeout 60 "$@" >"$work/last" 2>&1 || rc=$?
  cat "$work/last" >>"$work/all.out"
  if ((rc != want || SECONDS - t0 > max)); then
    echo "FAIL $name: exit $rc in $((SECONDS - t0)) s, expected $want within $max s:"
    sed 's/^/    /' "$work/last"
    failures=$((failures + 1))
    return 1
  fi
  echo "ok   $name ($((SECONDS - t0)) s)"
}
# expect_message NAME PATTERN: counts a failure unless $work/last matches PATTERN (grep -iE).
expect_message() {
  grep -qiE "$2" "$work/last" || { echo "FAIL $1: no /$2/ in: $(cat "$work/last")"; failures=$((failures + 1)); }
}

# A Kafka CLI tool (topics, console-consumer, ...) of the fixture's Kafka version.
kafka_tool() {
  "$root/scripts/kafka-local.sh" tool "$@"
}

fail() {
  echo "FAIL: $*"
  exit 1
}
