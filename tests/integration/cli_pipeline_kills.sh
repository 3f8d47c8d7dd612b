#!/usr/bin/env bash
# kwire pipeline through random SIGKILLs while its input arrives; restarted with the same
# arguments each time. Short form in CI; KWIRE_PIPELINE_RECORDS and KWIRE_PIPELINE_KILLS give
# the long form.
source "$(dirname "$0")/pipeline_lib.sh"

in=pipe-in-$run_id out=pipe-out-$run_id prefix=pipe-$run_id
create_topic "$in"
create_topic "$out"
chunk=$((records / 10))
(for i in $(seq 0 9); do
  produce "$in" $((i * chunk + 1)) $(((i + 1) * chunk))
  sleep 0.5
done) &
producer=$!
for k in $(seq 1 "$kills"); do
  start_pipeline run "$in" "$out" "$work/ckpt" "$prefix"
  sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.1f", 1.5 + (r % 30) / 10 }')"
  kill -9 -- "-$last_pid" 2>/dev/null || true
  wait "$last_pid" 2>/dev/null || true
  echo "     killed the pipeline ($k of $kills)"
done
wait "$producer"
run_to_end run "$in" "$out" "$work/ckpt" "$prefix"
verify "$in" "$out" "$records records, $kills kills"
grep -q '"in":'"$records"',' "$work/verify.json" || fail "expected $records input records"
no_open_transactions "$prefix"

echo "PASS"
