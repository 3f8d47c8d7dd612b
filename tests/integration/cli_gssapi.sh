#!/usr/bin/env bash
# Kerberos (SASL GSSAPI) against a real broker: starts its own `kafka-local.sh up --security`
# cluster with its MIT KDC (stopped at the end; skips when the KDC programs are missing).
# Every client uses the cluster's krb5.conf (KRB5_CONFIG) and a ticket cache of its own
# (KRB5CCNAME), so nothing outside the scratch directory is read or written.
#   - kwire produce and consume (as a group member) with GSSAPI over SASL_PLAINTEXT and
#     SASL_SSL, logging in by its default sasl.kerberos.kinit.cmd with the client keytab; the
#     broker holds the records (read back through the PLAINTEXT listener by kcat);
#   - kcat (librdkafka through Cyrus SASL) with the same settings, likewise;
#   - failures, each an exit 1 within 30 s with Kerberos' reason: no ticket (kinit.cmd none
#     and an empty ticket cache), a kinit.cmd that fails (a missing keytab), a wrong
#     sasl.kerberos.service.name, an expired ticket (kinit -l 2s, 3 s earlier).
#   cli_gssapi.sh KWIRE_BINARY
source "$(dirname "$0")/cli_lib.sh"
need_tool kcat "reads back through the PLAINTEXT listener"
need_tool kinit "gets the Kerberos tickets (Debian: krb5-user)"
start_security_cluster
bootstrap=$(value bootstrap)
sasl_plaintext=$(value sasl_plaintext)
sasl_ssl=$(value sasl_ssl)
ca=$(value ca_pem)
krb5_config=$(value krb5_config)
keytab=$(value client_keytab)
principal=$(value client_principal)
service=$(value service_name)
[[ -n $krb5_config ]] || skip "kafka-local.sh runs no KDC here: $(grep -i kerberos "$work/up.err")"
[[ -f $keytab && -n $principal && -n $service ]] \
  || fail "kafka-local.sh printed krb5_config= but not the rest: $(cat "$work/up.out")"
export KRB5_CONFIG=$krb5_config
export KRB5CCNAME=FILE:$work/ccache
topic=gss-$run_id

# broker_holds NAME: the broker holds the 3 records NAME-1..3 (read over PLAINTEXT).
broker_holds() {
  timeout 30 kcat -C -b "$bootstrap" -t "$topic" -e -q -f '%s\n' >"$work/broker" 2>/dev/null || true
  if ! diff <(grep "^$1-" "$work/broker") <(printf '%s\n' "$1-1" "$1-2" "$1-3") >/dev/null; then
    echo "FAIL $1: the broker holds $(grep -c "^$1-" "$work/broker") of its 3 records"
    failures=$((failures + 1))
    return 1
  fi
}

kcat_gssapi=(-X sasl.mechanisms=GSSAPI -X "sasl.kerberos.service.name=$service"
  -X "sasl.kerberos.keytab=$keytab" -X "sasl.kerberos.principal=$principal")
for listener in sasl_plaintext sasl_ssl; do
  name=kcat-$listener
  address=$sasl_plaintext
  tls=()
  [[ $listener == sasl_ssl ]] && address=$sasl_ssl tls=(-X "ssl.ca.location=$ca")
  if printf '%s\n' "$name-1" "$name-2" "$name-3" | timeout 30 kcat -P -b "$address" -t "$topic" \
      -X "security.protocol=${listener^^}" "${tls[@]}" "${kcat_gssapi[@]}" >"$work/last" 2>&1; then
    broker_holds "$name" && echo "ok   $name"
  else
    echo "FAIL $name: $(tail -n 3 "$work/last")"
    failures=$((failures + 1))
  fi
done

gssapi=(-X sasl.mechanism=GSSAPI -X "sasl.kerberos.keytab=$keytab"
  -X "sasl.kerberos.principal=$principal")
for listener in sasl_plaintext sasl_ssl; do
  name=kwire-$listener
  address=$sasl_plaintext
  tls=()
  [[ $listener == sasl_ssl ]] && address=$sasl_ssl tls=(-X "ssl.truststore.location=$ca")
  rm -f "$work/ccache"
  printf '%s\n' "$name-1" "$name-2" "$name-3" >"$work/in"
  CHECK_MAX=30 check "produce $name" 0 "$kwire" produce -b "$address" -t "$topic" \
    -X "security.protocol=${listener^^}" "${tls[@]}" "${gssapi[@]}" <"$work/in" || continue
  broker_holds "$name" || continue
  CHECK_MAX=30 check "consume $name" 0 "$kwire" consume -b "$address" -t "$topic" -G "$name-$run_id" \
    -e -f '%s\n' -X "security.protocol=${listener^^}" "${tls[@]}" "${gssapi[@]}" || continue
  grep -qx "$name-3" "$work/last" || { echo "FAIL consume $name: $name-3 not read back"; failures=$((failures + 1)); }
done

# Failures: exit 1 at once, Kerberos' reason in the message.
failure() { # NAME PATTERN -X...
  local name=$1 pattern=$2
  shift 2
  if CHECK_MAX=30 check "$name" 1 "$kwire" produce -b "$sasl_plaintext" -t "$topic" \
      -X security.protocol=SASL_PLAINTEXT "$@" <<<"x"; then
    expect_message "$name" "Kerberos \(GSSAPI\) login failed.*$pattern"
  fi
}
rm -f "$work/ccache"
failure "no ticket" "No Kerberos credentials" "${gssapi[@]}" -X sasl.kerberos.kinit.cmd=none
failure "kinit.cmd fails" "sasl.kerberos.kinit.cmd failed: exit 1: .*missing.keytab" \
  -X sasl.mechanism=GSSAPI -X "sasl.kerberos.keytab=$work/missing.keytab" \
  -X "sasl.kerberos.principal=$principal"
failure "wrong service name" "nokafka/127.0.0.1@.* not found in Kerberos database" "${gssapi[@]}" \
  -X sasl.kerberos.service.name=nokafka
rm -f "$work/ccache"
if timeout 30 kinit -l 2s -k -t "$keytab" "$principal" >"$work/kinit" 2>&1; then
  sleep 3
  failure "expired ticket" "Ticket expired" "${gssapi[@]}" -X sasl.kerberos.kinit.cmd=
else
  echo "FAIL kinit -l 2s: $(cat "$work/kinit")"
  failures=$((failures + 1))
fi

((failures == 0)) || fail "$failures check(s) failed"
echo "PASS"
