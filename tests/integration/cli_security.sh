#!/usr/bin/env bash
# TLS and SASL against a real broker: starts its own `kafka-local.sh up --security` cluster
# (stopped at the end), then `kwire produce` and `kwire consume` round trips over every
# security.protocol x sasl.mechanism the broker offers (SSL; SSL with a client certificate;
# SASL_PLAINTEXT and SASL_SSL x PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER), each
# checked through the PLAINTEXT listener by kcat; kcat with the same settings for
# comparison (not asserted for SCRAM: Debian 12's kcat 1.7.1 / librdkafka 2.0.2 is refused by
# this broker with "invalid credentials" for SCRAM, where kwire and the Java client pass; not
# root-caused);
# then failures, each an exit 1 within bounded time with a clear message: wrong password
# (PLAIN and SCRAM), unknown user, unknown CA, hostname mismatch (localhost is in the
# certificate, the name 127.1 is not), TLS to a PLAINTEXT port, PLAINTEXT to a TLS port;
# and exit 2 for a trust store file that is not there and a misspelt sasl.jaas.config option.
# No run may print the password, failing or succeeding.
#   cli_security.sh KWIRE_BINARY
source "$(dirname "$0")/cli_lib.sh"
need_tool kcat "reads back through the PLAINTEXT listener"
start_security_cluster
bootstrap=$(value bootstrap)
ssl=$(value ssl)
sasl_plaintext=$(value sasl_plaintext)
sasl_ssl=$(value sasl_ssl)
ca=$(value ca_pem)
client_cert=$(value client_cert_pem)
client_key=$(value client_key_pem)
user=$(value user)
password=$(value password)
[[ -n $bootstrap && -n $ssl && -n $sasl_ssl && -n $password && -f $ca ]] \
  || fail "kafka-local.sh printed no security lines: $(cat "$work/up.out")"
topic=sec-$run_id

jaas() { # MECHANISM [USER PASSWORD]
  local u=${2:-$user} p=${3:-$password}
  case $1 in
    PLAIN) echo "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"$u\" password=\"$p\";" ;;
    SCRAM-*) echo "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$u\" password=\"$p\";" ;;
    OAUTHBEARER) echo "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub=\"$u\";" ;;
  esac
}

# NAME ADDRESS PROPS...: produce 3 records with kwire, consume them back with kwire, both
# over ADDRESS; the records must be what the broker holds (read over PLAINTEXT by kcat).
roundtrip() {
  local name=$1 address=$2
  shift 2
  local props=() p
  for p in "$@"; do props+=(-X "$p"); done
  printf '%s\n' "$name-1" "$name-2" "$name-3" >"$work/in"
  check "produce $name" 0 "$kwire" produce -b "$address" -t "$topic" "${props[@]}" \
    <"$work/in" || return 0
  check "consume $name" 0 "$kwire" consume -b "$address" -t "$topic" -e -f '%s\n' \
    "${props[@]}" || return 0
  grep -qx "$name-3" "$work/last" || { echo "FAIL consume $name: $name-3 not read back"; failures=$((failures + 1)); }
  timeout 30 kcat -C -b "$bootstrap" -t "$topic" -e -q -f '%s\n' >"$work/broker" 2>/dev/null || true
  if ! diff <(grep "^$name-" "$work/broker") "$work/in" >/dev/null; then
    echo "FAIL $name: the broker holds $(grep -c "^$name-" "$work/broker") of its 3 records"
    failures=$((failures + 1))
  fi
}

tls=(ssl.truststore.location="$ca" ssl.truststore.type=PEM)
tlsx=(-X "ssl.truststore.location=$ca" -X ssl.truststore.type=PEM)
roundtrip ssl "$ssl" security.protocol=SSL "${tls[@]}"
roundtrip ssl-localhost "localhost:${ssl##*:}" security.protocol=SSL "${tls[@]}"
cat "$client_cert" "$client_key" >"$work/client-keystore.pem"
roundtrip ssl-mtls "$ssl" security.protocol=SSL "${tls[@]}" \
  ssl.keystore.location="$work/client-keystore.pem" ssl.keystore.type=PEM
roundtrip ssl-tls12 "$ssl" security.protocol=SSL "${tls[@]}" ssl.enabled.protocols=TLSv1.2 \
  ssl.cipher.suites=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
for mechanism in PLAIN SCRAM-SHA-256 SCRAM-SHA-512 OAUTHBEARER; do
  roundtrip "sasl_plaintext-$mechanism" "$sasl_plaintext" security.protocol=SASL_PLAINTEXT \
    sasl.mechanism=$mechanism "sasl.jaas.config=$(jaas $mechanism)"
  roundtrip "sasl_ssl-$mechanism" "$sasl_ssl" security.protocol=SASL_SSL "${tls[@]}" \
    sasl.mechanism=$mechanism "sasl.jaas.config=$(jaas $mechanism)"
done

# kcat with the same settings, for comparison (reported, asserted for PLAIN and SSL only).
kcat_run() { # NAME ADDRESS -X...
  local name=$1 address=$2
  shift 2
  if echo "kcat-$name" | timeout 30 kcat -P -b "$address" -t "$topic" "$@" >"$work/kcat" 2>&1; then
    echo "ok   kcat $name"
  else
    echo "note kcat $name failed: $(tail -n 1 "$work/kcat")"
    return 1
  fi
}
kcat_run ssl "$ssl" -X security.protocol=SSL -X ssl.ca.location="$ca" || failures=$((failures + 1))
kcat_run sasl_ssl-PLAIN "$sasl_ssl" -X security.protocol=SASL_SSL -X ssl.ca.location="$ca" \
  -X sasl.mechanism=PLAIN -X sasl.username="$user" -X sasl.password="$password" \
  || failures=$((failures + 1))
for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do
  kcat_run "sasl_ssl-$mechanism" "$sasl_ssl" -X security.protocol=SASL_SSL \
    -X ssl.ca.location="$ca" -X sasl.mechanism=$mechanism -X sasl.username="$user" \
    -X sasl.password="$password" || true
done
kcat_run sasl_plaintext-OAUTHBEARER "$sasl_plaintext" -X security.protocol=SASL_PLAINTEXT \
  -X sasl.mechanism=OAUTHBEARER -X enable.sasl.oauthbearer.unsecure.jwt=true \
  -X sasl.oauthbearer.config="principal=$user" || true

# The client's whole debug log (-d all) of a login, failed and succeeded, goes into all.out too.
check "debug log of a SCRAM login" 0 "$kwire" produce -d all -b "$sasl_ssl" -t "$topic" \
  -X security.protocol=SASL_SSL "${tlsx[@]}" -X sasl.mechanism=SCRAM-SHA-256 \
  -X "sasl.jaas.config=$(jaas SCRAM-SHA-256)" <<<"debug" || true
check "debug log of a refused login" 1 "$kwire" produce -d all -b "$sasl_ssl" -t "$topic" \
  -X security.protocol=SASL_SSL "${tlsx[@]}" -X sasl.mechanism=SCRAM-SHA-256 \
  -X "sasl.jaas.config=$(jaas SCRAM-SHA-256 "$user" "x$password")" <<<"debug" || true

# Failures: exit 1, a message that says why.
wrong=wrong-$password-x
for mechanism in PLAIN SCRAM-SHA-512; do
  if check "wrong password $mechanism" 1 "$kwire" produce -b "$sasl_ssl" -t "$topic" \
      -X security.protocol=SASL_SSL "${tlsx[@]}" -X sasl.mechanism=$mechanism \
      -X "sasl.jaas.config=$(jaas $mechanism "$user" "$wrong")" <<<"x"; then
    expect_message "wrong password $mechanism" "authentication failed"
    grep -q -- "$wrong" "$work/last" && { echo "FAIL wrong password $mechanism: printed the password"; failures=$((failures + 1)); }
  fi
done
if check "unknown user" 1 "$kwire" produce -b "$sasl_plaintext" -t "$topic" \
    -X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=SCRAM-SHA-256 \
    -X "sasl.jaas.config=$(jaas SCRAM-SHA-256 nobody-$run_id "$password")" <<<"x"; then
  expect_message "unknown user" "authentication failed"
fi
if check "unknown CA" 1 "$kwire" produce -b "$ssl" -t "$topic" -X security.protocol=SSL <<<"x"; then
  expect_message "unknown CA" "not signed by a trusted CA"
fi
if check "hostname mismatch" 1 "$kwire" produce -b "127.1:${ssl##*:}" -t "$topic" \
    -X security.protocol=SSL "${tlsx[@]}" <<<"x"; then
  expect_message "hostname mismatch" "does not name 127.1"
fi
if check "TLS to a PLAINTEXT port" 1 "$kwire" produce -b "$bootstrap" -t "$topic" \
    -X security.protocol=SSL "${tlsx[@]}" <<<"x"; then
  expect_message "TLS to a PLAINTEXT port" "did not answer with TLS|closed the connection during the TLS"
fi
if check "PLAINTEXT to a TLS port" 1 "$kwire" produce -b "$ssl" -t "$topic" <<<"x"; then
  expect_message "PLAINTEXT to a TLS port" "answered with TLS|connection"
fi
check "no truststore file" 2 "$kwire" produce -b "$ssl" -t "$topic" -X security.protocol=SSL \
  -X ssl.truststore.location="$work/missing.pem" <<<"x" \
  && expect_message "no truststore file" "ssl.truststore.location: cannot read"
check "bad jaas" 2 "$kwire" produce -b "$sasl_ssl" -t "$topic" -X security.protocol=SASL_SSL \
  -X sasl.mechanism=PLAIN -X "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"$user\" pasword=\"$password\";" <<<"x" \
  && expect_message "bad jaas" "option pasword"

if grep -q -- "$password" "$work/all.out"; then
  echo "FAIL: the password appears in kwire's output:"
  grep -n -- "$password" "$work/all.out" | head -5
  failures=$((failures + 1))
fi
((failures == 0)) || fail "$failures check(s) failed"
echo "PASS"
