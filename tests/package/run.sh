#!/usr/bin/env bash
# Installs kwire from BUILD_DIR into a temporary prefix, then configures, builds and runs
# tests/package (a project outside the tree: find_package(kwire), kwire::client) against
# that prefix alone. Fails when the install is incomplete: a missing header, library or
# dependency in kwireConfig.cmake breaks the configure, the compile or the link.
# Usage: run.sh BUILD_DIR CXX_COMPILER [COMPILER_LAUNCHER] [EXTRA_FLAGS]
#   EXTRA_FLAGS: compile and link flags the libraries were built with that a user must
#   repeat (the sanitizer build's -fsanitize=...).
set -euo pipefail
build_dir=${1:?usage: run.sh BUILD_DIR CXX_COMPILER [COMPILER_LAUNCHER] [EXTRA_FLAGS]}
cxx=${2:?usage: run.sh BUILD_DIR CXX_COMPILER [COMPILER_LAUNCHER] [EXTRA_FLAGS]}
launcher=${3:-}
extra_flags=${4:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*"
  exit 1
}

cmake --install "$build_dir" --prefix "$work/prefix" >"$work/install.log" \
  || fail "cmake --install: $(cat "$work/install.log")"

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
# CMAKE_FIND_USE_PACKAGE_REGISTRY=OFF and a prefix path of the install only: the package
# must come from the install, never from the build tree.
cmake -S "$here" -B "$work/build" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$cxx" \
  ${launcher:+-DCMAKE_CXX_COMPILER_LAUNCHER="$launcher"} \
  ${extra_flags:+-DCMAKE_CXX_FLAGS="$extra_flags" -DCMAKE_EXE_LINKER_FLAGS="$extra_flags"} \
  -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  >"$work/configure.log" 2>&1 || fail "configure against the install: $(cat "$work/configure.log")"
cmake --build "$work/build" >"$work/build.log" 2>&1 \
  || fail "build against the install: $(cat "$work/build.log")"

out=$("$work/build/package_user" bootstrap.servers=broker.example:9092 linger.ms=20 \
  compression.type=zstd) || fail "package_user exited $?: $out"
expected="bootstrap.servers=broker.example:9092 linger.ms=20 compression.type=zstd round_trip=ok api0=Produce"
[[ $out == "$expected" ]] || fail "package_user printed '$out', expected '$expected'"
echo "ok: $out"
