# Sourced by the CLI tests that need no broker. The caller sets $kwire (the binary), $out
# and $err (scratch files) and counts in $checks and $failures.
#
# expect STATUS TEXT [ARGS...]: `kwire ARGS` (stdin empty) exits with STATUS and prints TEXT
# (a fixed string) on stdout or stderr.
expect() {
  local status=$1 text=$2
  shift 2
  checks=$((checks + 1))
  "$kwire" "$@" </dev/null >"$out" 2>"$err"
  local got=$?
  if [[ $got != "$status" ]] || ! grep -qF -- "$text" "$out" "$err"; then
    failures=$((failures + 1))
    echo "FAIL: kwire $* -> exit $got (want $status), output lacks '$text':"
    sed 's/^/  stdout: /' "$out"
    sed 's/^/  stderr: /' "$err"
  fi
}
