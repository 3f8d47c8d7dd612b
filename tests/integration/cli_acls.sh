#!/usr/bin/env bash
# ACLs against a real broker: starts its own `kafka-local.sh up --security` cluster (stopped
# at the end), whose restricted user may use only topics, groups and transactional ids that
# start with restricted_prefix. As that user over SASL_PLAINTEXT (PLAIN):
#   - produce to an allowed topic: exit 0, and the broker holds the record (kcat, PLAINTEXT);
#   - produce to a denied topic: exit 1 within 10 s, TOPIC_AUTHORIZATION_FAILED naming the
#     topic, and the broker did not create it;
#   - consume a denied topic: the same;
#   - consume as a member of a denied group (-G): exit 1 within 10 s,
#     GROUP_AUTHORIZATION_FAILED naming the group;
#   - commit offsets to a denied group (manual assignment, -X group.id): exit 1 within 10 s,
#     GROUP_AUTHORIZATION_FAILED naming the group;
#   - a member of an allowed group commits, as kafka-consumer-groups shows;
#   - InitProducerId with a denied / an allowed transactional id (kwire-integration-tests
#     SecurityLive.*: the producer does not take transactional.id yet);
#   - the broker lists the restricted user's three prefixed ACLs to admin (tool acls).
# The user with all ACLs produces to the denied topic name, so the denial is the ACLs'. No
# output may hold the password.
#   cli_acls.sh KWIRE_BINARY KWIRE_INTEGRATION_TESTS_BINARY
source "$(dirname "$0")/cli_lib.sh"
integration_tests=${2:?usage: $0 KWIRE KWIRE_INTEGRATION_TESTS}
need_tool kcat "reads back through the PLAINTEXT listener"
start_security_cluster
bootstrap=$(value bootstrap)
sasl_plaintext=$(value sasl_plaintext)
user=$(value user)
password=$(value password)
r_user=$(value restricted_user)
r_password=$(value restricted_password)
prefix=$(value restricted_prefix)
[[ -n $sasl_plaintext && -n $r_user && -n $r_password && -n $prefix ]] \
  || fail "kafka-local.sh printed no restricted user: $(grep -v password "$work/up.out")"
allowed=${prefix}topic-$run_id
denied=denied-topic-$run_id

as() { # USER PASSWORD: the -X options of a PLAIN login over SASL_PLAINTEXT
  echo "-Xsecurity.protocol=SASL_PLAINTEXT"
  echo "-Xsasl.mechanism=PLAIN"
  echo "-Xsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"$1\" password=\"$2\";"
}
mapfile -t restricted < <(as "$r_user" "$r_password")
mapfile -t full < <(as "$user" "$password")
broker_topics() { timeout 30 kcat -L -b "$bootstrap" 2>/dev/null | sed -n 's/^  topic "\([^"]*\)".*/\1/p'; }

CHECK_MAX=10 check "produce to an allowed topic" 0 "$kwire" produce -b "$sasl_plaintext" -t "$allowed" \
  "${restricted[@]}" <<<"allowed-1"
got=$(timeout 30 kcat -C -b "$bootstrap" -t "$allowed" -e -q -f '%s\n' 2>/dev/null || true)
[[ $got == allowed-1 ]] || { echo "FAIL the broker holds '$got' in $allowed, expected allowed-1"; failures=$((failures + 1)); }

if CHECK_MAX=10 check "produce to a denied topic" 1 "$kwire" produce -b "$sasl_plaintext" -t "$denied" \
    "${restricted[@]}" <<<"denied-1"; then
  expect_message "produce to a denied topic" "topic $denied: TOPIC_AUTHORIZATION_FAILED"
fi
if broker_topics | grep -qx -- "$denied"; then
  echo "FAIL the broker created $denied for the restricted user"
  failures=$((failures + 1))
fi

if CHECK_MAX=10 check "consume a denied topic" 1 "$kwire" consume -b "$sasl_plaintext" -t "$denied" -e \
    "${restricted[@]}"; then
  expect_message "consume a denied topic" "topic $denied: TOPIC_AUTHORIZATION_FAILED"
fi

if CHECK_MAX=10 check "join a denied group" 1 "$kwire" consume -b "$sasl_plaintext" -t "$allowed" \
    -G "denied-group-$run_id" -c 1 "${restricted[@]}"; then
  expect_message "join a denied group" "GROUP_AUTHORIZATION_FAILED.*group denied-group-$run_id"
fi

if CHECK_MAX=10 check "commit to a denied group" 1 "$kwire" consume -b "$sasl_plaintext" -t "$allowed" \
    -X "group.id=denied-commit-$run_id" -c 1 "${restricted[@]}"; then
  expect_message "commit to a denied group" \
    "group denied-commit-$run_id failed: GROUP_AUTHORIZATION_FAILED"
fi

group=${prefix}group-$run_id
CHECK_MAX=20 check "commit to an allowed group" 0 "$kwire" consume -b "$sasl_plaintext" -t "$allowed" \
  -G "$group" -c 1 "${restricted[@]}" || true
committed=$(kafka_tool consumer-groups --bootstrap-server "$bootstrap" --describe --group "$group" \
  2>/dev/null | awk -v t="$allowed" '$2 == t && $3 == 0 { print $4 }')
[[ $committed == 1 ]] || { echo "FAIL $group committed '$committed', expected 1"; failures=$((failures + 1)); }

CHECK_MAX=10 check "the user with all ACLs produces to the denied name" 0 "$kwire" produce \
  -b "$sasl_plaintext" -t "$denied" "${full[@]}" <<<"full-1" || true

# The ACLs as the broker holds them, read as admin through SASL_PLAINTEXT (tool acls with the
# admin client config kafka-local.sh wrote).
kafka_tool acls --bootstrap-server "$sasl_plaintext" --command-config "$(value admin_client_config)" \
  --list --principal "User:$r_user" >"$work/acls" 2>&1 || true
if [[ $(grep -c "name=$prefix, patternType=PREFIXED" "$work/acls") == 3 ]]; then
  echo "ok   the broker holds the restricted user's 3 prefixed ACLs (topic, group, transactional id)"
else
  echo "FAIL the broker's ACLs for User:$r_user:"
  sed 's/^/    /' "$work/acls"
  failures=$((failures + 1))
fi

# The transactional producer, refused a transactional id: at once, naming the id.
denied_txn=denied-txn-$run_id
if CHECK_MAX=10 check "a transaction under a denied transactional id" 1 "$kwire" produce \
    -b "$sasl_plaintext" -t "$allowed" -X "transactional.id=$denied_txn" "${restricted[@]}" \
    <<<"txn-1"; then
  expect_message "a transaction under a denied transactional id" \
    "transactional.id $denied_txn.*TRANSACTIONAL_ID_AUTHORIZATION_FAILED|TRANSACTIONAL_ID_AUTHORIZATION_FAILED.*transactional.id $denied_txn"
fi

if KWIRE_SECURITY_ENV=$work/up.out timeout 60 "$integration_tests" \
    --gtest_filter='SecurityLive.*' >"$work/last" 2>&1; then
  grep -q '\[  PASSED  \] 2 tests' "$work/last" \
    && echo "ok   InitProducerId: a denied transactional id is refused, an allowed one is not" \
    || { echo "FAIL SecurityLive ran $(grep -c '^\[ RUN' "$work/last") test(s), expected 2"; failures=$((failures + 1)); }
else
  echo "FAIL SecurityLive.*:"
  sed 's/^/    /' "$work/last"
  failures=$((failures + 1))
fi

for secret in "$password" "$r_password"; do
  if grep -q -- "$secret" "$work/all.out"; then
    echo "FAIL: a password appears in kwire's output"
    failures=$((failures + 1))
  fi
done
((failures == 0)) || fail "$failures check(s) failed"
echo "PASS"
