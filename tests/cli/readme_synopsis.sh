#!/usr/bin/env bash
# tools/kwire/README.md opens with a synopsis: it must show every command `kwire --help`
# lists, and --version.
#   readme_synopsis.sh KWIRE_BINARY README
set -uo pipefail
kwire=${1:?usage: readme_synopsis.sh KWIRE_BINARY README}
readme=${2:?usage: readme_synopsis.sh KWIRE_BINARY README}

# The first fenced block of the README.
synopsis=$(awk '/^```/ { if (open) exit; open = 1; next } open' "$readme")
# The command names of `kwire --help`: the indented lines after "commands:".
commands=$("$kwire" --help | awk '/^commands:/ { listing = 1; next } listing && /^  [a-z]/ { print $1; next } { listing = 0 }')
[[ -n $commands ]] || { echo "FAIL: no commands in 'kwire --help'"; exit 1; }

failures=0
for command in $commands --version; do
  if ! grep -qE "^kwire( .*\|)? $command( |\$)" <<<"$synopsis"; then
    echo "FAIL: the synopsis of $readme has no 'kwire $command' line"
    failures=$((failures + 1))
  fi
done
((failures == 0)) || exit 1
echo "the synopsis shows all of: $(echo $commands) --version"
