#!/usr/bin/env bash
# kwire interop harness (Java side): see tests/interop/README.md.
#
#   run.sh build                          build the jar and the three runtime classpaths (cached)
#   run.sh KAFKA_VERSION MODE ARGS...     run the harness on kafka-clients KAFKA_VERSION's classpath
#                                         (4.4.0, 4.0.0 or 3.9.2); MODE is one of
#                                         messages-write, messages-verify, messages-selftest,
#                                         batches-write, batches-dump, partition-keys, assignors,
#                                         consumer-protocol, version
#   run.sh classpath KAFKA_VERSION        print the runtime classpath (harness jar first)
#   run.sh selftest                       the Java side checked against itself, all three jars
#
# Environment: KWIRE_INTEROP_TIMEOUT  seconds one harness run may take (default 600)
#              KWIRE_INTEROP_BUILD_TIMEOUT  seconds the Maven build may take (default 1200)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
TARGET="$HERE/target"
JAR="$TARGET/kwire-interop-1.0.jar"
STAMP="$TARGET/.kwire-build-stamp"
VERSIONS=(4.4.0 4.0.0 3.9.2)
RUN_TIMEOUT="${KWIRE_INTEROP_TIMEOUT:-600}"
BUILD_TIMEOUT="${KWIRE_INTEROP_BUILD_TIMEOUT:-1200}"

die() { echo "run.sh: $*" >&2; exit 2; }

up_to_date() {
    [[ -f "$STAMP" && -f "$JAR" ]] || return 1
    local v
    for v in "${VERSIONS[@]}"; do [[ -s "$TARGET/classpath-$v.txt" ]] || return 1; done
    [[ -z "$(find "$HERE/src" "$HERE/pom.xml" "$HERE/run.sh" -newer "$STAMP" -print -quit)" ]]
}

# mvn, offline first (everything cached: no network), then online.
mvn_run() {
    local common=(-q -B -Dstyle.color=never -f "$HERE/pom.xml")
    if timeout "$BUILD_TIMEOUT" mvn -o "${common[@]}" "$@" >"$TARGET/mvn.log" 2>&1; then
        return 0
    fi
    timeout "$BUILD_TIMEOUT" mvn "${common[@]}" "$@" >"$TARGET/mvn.log" 2>&1 || {
        cat "$TARGET/mvn.log" >&2
        die "maven failed: mvn $*"
    }
}

build() {
    mkdir -p "$TARGET"
    command -v mvn >/dev/null || die "mvn not found"
    command -v java >/dev/null || die "java not found"
    # One build at a time (several harness runs may start together).
    exec 9>"$TARGET/.build.lock"
    flock -w "$BUILD_TIMEOUT" 9 || die "timed out waiting for the build lock"
    if up_to_date; then
        flock -u 9
        return 0
    fi
    rm -f "$STAMP"
    local started=$SECONDS
    echo "run.sh: building the interop harness (Maven)..." >&2
    touch "$TARGET/.stamp-new"
    mvn_run package
    local v
    for v in "${VERSIONS[@]}"; do
        mvn_run dependency:build-classpath -Dkafka.version="$v" -Dmdep.outputFile="$TARGET/classpath-$v.txt.tmp"
        mv "$TARGET/classpath-$v.txt.tmp" "$TARGET/classpath-$v.txt"
    done
    mv "$TARGET/.stamp-new" "$STAMP"
    echo "run.sh: built in $((SECONDS - started)) s" >&2
    flock -u 9
}

classpath() {
    local v="$1"
    [[ -s "$TARGET/classpath-$v.txt" ]] || die "unknown kafka-clients version '$v' (one of: ${VERSIONS[*]})"
    echo "$JAR:$(cat "$TARGET/classpath-$v.txt")"
}

harness() {
    local v="$1"
    shift
    local cp
    cp="$(classpath "$v")"
    timeout --kill-after=10 "$RUN_TIMEOUT" \
        java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx1g -cp "$cp" kwire.interop.Main "$@"
}

# The Java side against itself: fill round trips, write+verify, batches write+dump, for all three jars.
selftest() {
    local tmp passed=0 failed=0
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' RETURN
    local schema="$ROOT/protocol/schema"
    local pair v set
    for pair in 4.4.0:primary 3.9.2:legacy-3.9.2 4.0.0:legacy-4.0.0; do
        v="${pair%%:*}"
        set="${pair#*:}"
        if harness "$v" messages-selftest --schema-dir "$schema" --set "$set" >"$tmp/selftest-$set.log"; then
            passed=$((passed + 1)); echo "PASS messages-selftest $v $set ($(tail -1 "$tmp/selftest-$set.log"))"
        else
            failed=$((failed + 1)); echo "FAIL messages-selftest $v $set"; grep -v '^PASS' "$tmp/selftest-$set.log" | head -20
        fi
        if harness "$v" messages-write --schema-dir "$schema" --set "$set" --out "$tmp/msg-$set" >"$tmp/write-$set.log" &&
            harness "$v" messages-verify --schema-dir "$schema" --set "$set" --in "$tmp/msg-$set" >"$tmp/verify-$set.log"; then
            passed=$((passed + 1)); echo "PASS messages-write+verify $v $set ($(tail -1 "$tmp/verify-$set.log"))"
        else
            failed=$((failed + 1)); echo "FAIL messages-write+verify $v $set"
            grep -v '^PASS' "$tmp/write-$set.log" "$tmp/verify-$set.log" 2>/dev/null | head -20
        fi
    done
    for v in "${VERSIONS[@]}"; do
        local ok=1 f
        harness "$v" batches-write --out "$tmp/batches-$v" >/dev/null || ok=0
        for f in "$tmp/batches-$v"/*.bin; do
            [[ -e "$f" ]] || { ok=0; break; }
            harness "$v" batches-dump "$f" | cmp -s - "${f%.bin}.dump" || { ok=0; echo "  dump differs: $f"; }
        done
        # the three jars must build byte-identical batches
        if [[ "$v" != "${VERSIONS[0]}" ]]; then
            diff -rq "$tmp/batches-${VERSIONS[0]}" "$tmp/batches-$v" >/dev/null || { ok=0; echo "  batches differ from ${VERSIONS[0]}'s"; }
        fi
        if [[ $ok == 1 ]]; then
            passed=$((passed + 1)); echo "PASS batches-write+dump $v"
        else
            failed=$((failed + 1)); echo "FAIL batches-write+dump $v"
        fi
    done
    echo "interop-selftest: $passed passed, $failed failed"
    [[ $failed == 0 ]]
}

[[ $# -ge 1 ]] || die "usage: run.sh build | run.sh KAFKA_VERSION MODE ARGS... | run.sh classpath KAFKA_VERSION | run.sh selftest"
case "$1" in
    build)
        build
        ;;
    classpath)
        [[ $# -eq 2 ]] || die "usage: run.sh classpath KAFKA_VERSION"
        build
        classpath "$2"
        ;;
    selftest)
        build
        selftest
        ;;
    *)
        [[ $# -ge 2 ]] || die "usage: run.sh KAFKA_VERSION MODE ARGS..."
        build
        harness "$@"
        ;;
esac
