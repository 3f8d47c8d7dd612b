#!/usr/bin/env bash
# Types and functions private to one .cpp must have internal linkage (an unnamed namespace):
# two files that each define kwire::client::detail::partition_state in the open break the
# one-definition rule, and nothing reports it. This fails when an object file of the archive
# defines an external symbol that mentions a kwire::client::detail name no header declares
# (the public ones, and those the library's .cpp files share).
#   private_linkage.sh ARCHIVE HEADER_DIRS [SKIPPED_OBJECT]...
# HEADER_DIRS: directories separated by ':'. Every object file of the archive is checked but
# the SKIPPED_OBJECTs (archive members, e.g. consumer.cpp.o).
set -uo pipefail
usage="usage: private_linkage.sh ARCHIVE HEADER_DIRS [SKIPPED_OBJECT]..."
archive=${1:?$usage}
IFS=: read -ra header_dirs <<<"${2:?$usage}"
shift 2
skipped=" $* "
checked=()
for member in $(ar t "$archive"); do
  [[ $skipped == *" $member "* ]] || checked+=("$member")
done
((${#checked[@]} > 0)) || { echo "FAIL: no object file to check in $archive"; exit 1; }

# The headers without their // comments.
header_code=$(find "${header_dirs[@]}" -name '*.hpp' -exec cat {} + | sed 's://.*$::')
# declared_in_headers NAME: a header declares NAME (a type, alias or function).
declared_in_headers() {
  grep -qE "(class|struct|union|enum|using)[[:space:]]+$1\b|\b$1[[:space:]]*\(" <<<"$header_code"
}

all_symbols=$(nm -A -C -g --defined-only "$archive" 2>/dev/null)
failures=0
for object in "${checked[@]}"; do
  symbols=$(grep -F "$(basename "$archive"):$object:" <<<"$all_symbols")
  names=$(grep -oE 'kwire::client::detail::[A-Za-z_][A-Za-z0-9_]*' <<<"$symbols" | sort -u |
    sed 's/^kwire::client::detail:://')
  for name in $names; do
    declared_in_headers "$name" && continue
    failures=$((failures + 1))
    echo "FAIL: $object: kwire::client::detail::$name is private to its .cpp but has external linkage (move it into an unnamed namespace); e.g."
    grep -F "kwire::client::detail::$name" <<<"$symbols" | head -2 | sed 's/^/  /'
  done
done
((failures == 0)) || exit 1
echo "no private kwire::client::detail name with external linkage in: ${checked[*]}${*:+ (skipped: $*)}"
