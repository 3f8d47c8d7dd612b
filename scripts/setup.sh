#!/usr/bin/env bash
# setup.sh - idempotent set-up of a Debian 12 machine for kwire.
#
#   1. installs the Debian packages below that are missing (apt-get update
#      first, only when something is missing);
#   2. fetches the pinned Kafka broker jars (scripts/kafka-local.sh fetch);
#   3. configures and builds kwire with CMake + Ninja (RelWithDebInfo).
#
# Run it as root, or as a user with sudo. Safe to run again: each step skips
# what is already done (CMake and Ninja rebuild only what changed).
#
# Environment:
#   KWIRE_SETUP_EXTRA_PACKAGES  more Debian packages to install (space separated)
#   KWIRE_KAFKA_VERSION         broker version to fetch (default: kafka-local.sh's)
#   KWIRE_SETUP_NO_BUILD=1      skip step 3
#   KWIRE_CMAKE_ARGS            extra arguments for the cmake configure step
#   KWIRE_BUILD_DIR             build directory (default: build, in the repo)
set -euo pipefail

# Debian packages kwire needs to build, test and benchmark. Extend here.
KWIRE_DEB_PACKAGES=(
  build-essential cmake ninja-build pkg-config python3 git ccache
  libboost1.81-all-dev libssl-dev libsasl2-dev zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev
  kcat librdkafka-dev
  krb5-kdc krb5-admin-server krb5-user libsasl2-modules-gssapi-mit # GSSAPI: the test KDC, kinit
  openjdk-17-jdk-headless maven
  time gnuplot-nox # bench/compare.sh: the Java tool's CPU and RSS, the chart
)

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT

step() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

SUDO=()
if ((EUID != 0)); then
  command -v sudo >/dev/null 2>&1 \
    || die "not root and sudo is not available: run this script as root"
  SUDO=(sudo)
fi

# ----------------------------------------------------- 1. Debian packages

is_installed() {
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

install_packages() {
  if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
    die "apt-get/dpkg-query not found: this script is for Debian 12"
  fi
  local -a wanted=("${KWIRE_DEB_PACKAGES[@]}") missing=() extra=()
  read -r -a extra <<<"${KWIRE_SETUP_EXTRA_PACKAGES:-}"
  wanted+=("${extra[@]}")
  local pkg
  for pkg in "${wanted[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    step "1/3 all ${#wanted[@]} Debian packages already installed"
    return 0
  fi
  step "1/3 installing ${#missing[@]} missing Debian package(s): ${missing[*]}"
  local -a apt=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get
    -o DPkg::Lock::Timeout=300 -q)
  "${apt[@]}" update >&2 || die "apt-get update failed"
  "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >&2 \
    || die "apt-get install failed for: ${missing[*]}"
  for pkg in "${missing[@]}"; do
    is_installed "$pkg" || die "package $pkg is still not installed after apt-get install"
  done
}

# --------------------------------------------------------- 2. Kafka broker

fetch_kafka() {
  step "2/3 fetching the Kafka broker (${KWIRE_KAFKA_VERSION:-pinned version})"
  "$ROOT/scripts/kafka-local.sh" fetch >/dev/null \
    || die "could not fetch the Kafka broker jars (see the messages above)"
}

# ---------------------------------------------------------------- 3. build

build() {
  if [[ ${KWIRE_SETUP_NO_BUILD:-0} == 1 ]]; then
    step "3/3 build skipped (KWIRE_SETUP_NO_BUILD=1)"
    return 0
  fi
  local build_dir=${KWIRE_BUILD_DIR:-build}
  local -a cmake_args=()
  [[ $build_dir == /* ]] || build_dir=$ROOT/$build_dir
  read -r -a cmake_args <<<"${KWIRE_CMAKE_ARGS:-}"
  local -a generator=(-G Ninja)
  local cache=$build_dir/CMakeCache.txt
  if [[ -f $cache ]] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$cache"; then
    # Re-running cmake with another -G than the cached one is an error.
    step "3/3 note: $build_dir was configured with another generator; keeping it"
    generator=()
  fi
  step "3/3 configuring ($build_dir)"
  cmake -S "$ROOT" -B "$build_dir" "${generator[@]}" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "${cmake_args[@]}" >&2 \
    || die "cmake configure failed"
  step "3/3 building"
  cmake --build "$build_dir" >&2 || die "build failed"
  step "3/3 built in $build_dir"
}

install_packages
fetch_kafka
build
step "done"
