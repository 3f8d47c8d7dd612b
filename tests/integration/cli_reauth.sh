#!/usr/bin/env bash
# SASL re-authentication (KIP-368) against a real broker: starts its own
# `kafka-local.sh up --security` cluster whose SASL sessions last 5 s
# (connections.max.reauth.ms, KWIRE_KAFKA_REAUTH_MS), stopped at the end. Then, at the same
# time:
#   - `kwire produce` runs with SCRAM-SHA-512 over SASL_SSL, PLAIN and OAUTHBEARER over
#     SASL_PLAINTEXT, and GSSAPI over SASL_SSL when the cluster runs a KDC (and kinit is
#     there), each fed 3000 lines over about 15 s (3 session lifetimes): exit 0 with "3000 records
#     produced, 0 failed", the client's log (-d security,broker) shows re-authentications and
#     no lost connection, and the broker holds each record exactly once (kcat over PLAINTEXT);
#   - kwire-integration-tests ReauthLive.*: a connection whose re-authentication the test hook
#     turned off is closed by the broker once its session ran out (so the broker enforces
#     the lifetime), while one that re-authenticates stays.
# Then the broker's own log must show the re-authentications ("... during
# re-authentication") and the expired session it closed ("Disconnecting expired channel").
# No output may hold the password.
#   cli_reauth.sh KWIRE_BINARY KWIRE_INTEGRATION_TESTS_BINARY
source "$(dirname "$0")/cli_lib.sh"
integration_tests=${2:?usage: $0 KWIRE KWIRE_INTEGRATION_TESTS}
need_tool kcat "reads back through the PLAINTEXT listener"
lifetime_ms=5000
export KWIRE_KAFKA_REAUTH_MS=$lifetime_ms
start_security_cluster
bootstrap=$(value bootstrap)
sasl_plaintext=$(value sasl_plaintext)
sasl_ssl=$(value sasl_ssl)
ca=$(value ca_pem)
user=$(value user)
password=$(value password)
[[ $(value reauth_ms) == "$lifetime_ms" ]] \
  || fail "kafka-local.sh printed reauth_ms=$(value reauth_ms), expected $lifetime_ms"
topic=reauth-$run_id
records=3000

# NAME: NAME-1 .. NAME-$records, 20 lines every 0.1 s (about 15 s in all).
lines() {
  local i
  for ((i = 1; i <= records; i++)); do
    echo "$1-$i"
    ((i % 20)) || sleep 0.1
  done
}

# NAME ADDRESS PROPS...: kwire produce of lines NAME, its output in $work/NAME.out and its
# exit status in $work/NAME.rc.
produce() {
  local name=$1 address=$2 props=() p rc=0
  shift 2
  for p in "$@"; do props+=(-X "$p"); done
  lines "$name" | timeout 90 "$kwire" produce -d security,broker -b "$address" -t "$topic" \
    "${props[@]}" >"$work/$name.out" 2>&1 || rc=$?
  echo "$rc" >"$work/$name.rc"
}

t0=$SECONDS
produce scram-sasl_ssl "$sasl_ssl" security.protocol=SASL_SSL ssl.truststore.location="$ca" \
  ssl.truststore.type=PEM sasl.mechanism=SCRAM-SHA-512 \
  "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$user\" password=\"$password\";" &
produce plain-sasl_plaintext "$sasl_plaintext" security.protocol=SASL_PLAINTEXT \
  sasl.mechanism=PLAIN \
  "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"$user\" password=\"$password\";" &
produce oauthbearer-sasl_plaintext "$sasl_plaintext" security.protocol=SASL_PLAINTEXT \
  sasl.mechanism=OAUTHBEARER \
  "sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub=\"$user\";" &
names=(scram-sasl_ssl plain-sasl_plaintext oauthbearer-sasl_plaintext)
if [[ -n $(value krb5_config) ]] && command -v kinit >/dev/null; then
  export KRB5_CONFIG=$(value krb5_config) KRB5CCNAME=FILE:$work/ccache
  produce gssapi-sasl_ssl "$sasl_ssl" security.protocol=SASL_SSL ssl.truststore.location="$ca" \
    ssl.truststore.type=PEM sasl.mechanism=GSSAPI "sasl.kerberos.keytab=$(value client_keytab)" \
    "sasl.kerberos.principal=$(value client_principal)" &
  names+=(gssapi-sasl_ssl)
else
  echo "note: no KDC (or no kinit) here: no GSSAPI run"
fi
live_rc=0
KWIRE_SECURITY_ENV=$work/up.out timeout 90 "$integration_tests" --gtest_filter='ReauthLive.*' \
  >"$work/live.out" 2>&1 || live_rc=$?
wait
echo "producers and ReauthLive done in $((SECONDS - t0)) s"

timeout 60 kcat -C -b "$bootstrap" -t "$topic" -e -q -f '%s\n' >"$work/broker" 2>/dev/null || true
for name in "${names[@]}"; do
  rc=$(cat "$work/$name.rc")
  if [[ $rc != 0 ]] || ! grep -q "^$records records produced, 0 failed" "$work/$name.out"; then
    echo "FAIL $name: exit $rc:"
    grep -v "^\[" "$work/$name.out" | tail -n 20 | sed 's/^/    /'
    failures=$((failures + 1))
    continue
  fi
  reauths=$(grep -c "re-authenticated to" "$work/$name.out" || true)
  lost=$(grep -c "disconnected from node" "$work/$name.out" || true)
  held=$(grep "re-authenticated to" "$work/$name.out" | sed -n 's/.*(\([0-9]*\) requests held.*/\1/p' | sort -n | tail -n 1)
  if ((reauths < 2 || lost > 0)); then
    echo "FAIL $name: $reauths re-authentications (expected 2 or more), $lost lost connections:"
    grep -E "re-authenticat|disconnected" "$work/$name.out" | sed 's/^/    /'
    failures=$((failures + 1))
  else
    echo "ok   $name: $records records, 0 failed, $reauths re-authentications (at most ${held:-0} requests held by one), no connection lost"
  fi
  stored=$(grep -c "^$name-" "$work/broker" || true)
  distinct=$(grep "^$name-" "$work/broker" | sort -u | wc -l)
  if ((stored != records || distinct != records)); then
    echo "FAIL $name: the broker holds $stored records ($distinct distinct), expected $records"
    failures=$((failures + 1))
  else
    echo "ok   $name: the broker holds all $records records once each"
  fi
done

if ((live_rc == 0)) && grep -q '\[  PASSED  \] 1 test' "$work/live.out"; then
  echo "ok   ReauthLive: $(grep '^renewed:' "$work/live.out")"
else
  echo "FAIL ReauthLive.* (exit $live_rc):"
  sed 's/^/    /' "$work/live.out"
  failures=$((failures + 1))
fi

log=$cluster/node-1/server.log
broker_reauths=$(grep -c "COMPLETE during re-authentication" "$log" || true)
broker_expired=$(grep -c "Disconnecting expired channel" "$log" || true)
if ((broker_reauths >= 4 && broker_expired >= 1)); then
  echo "ok   the broker logged $broker_reauths completed re-authentications and closed $broker_expired expired session(s)"
else
  echo "FAIL the broker logged $broker_reauths completed re-authentications (expected 4 or more) and $broker_expired expired sessions (expected 1 or more)"
  failures=$((failures + 1))
fi

for f in "$work"/*.out; do
  [[ $f == "$work/up.out" || $f == "$work/all.out" ]] && continue
  if grep -q -- "$password" "$f"; then
    echo "FAIL: the password appears in $(basename "$f"):"
    grep -n -- "$password" "$f" | sed "s/$password/[password]/g" | head -3 | sed 's/^/    /'
    failures=$((failures + 1))
  fi
done
((failures == 0)) || fail "$failures check(s) failed"
echo "PASS"
