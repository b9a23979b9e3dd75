#!/usr/bin/env bash
# Installs every Debian package that Folio's build, tests and tools need.
# Idempotent: packages already present are skipped, so a second run costs a dpkg query.
# Runs as root on a fresh Debian 12 machine (or through sudo when not root).
set -euo pipefail

packages=(
  # toolchain
  build-essential g++ clang clang-14 lld lld-14 cmake ninja-build ccache pkg-config make
  libclang-rt-14-dev libclang-rt-14-dev-wasm32 wasi-libc wabt
  # libraries
  libssl-dev libsodium-dev libcli11-dev nlohmann-json3-dev libfmt-dev libspdlog-dev
  libsqlite3-dev libzip-dev zipcmp zipmerge ziptool
  # node storage, networking and services
  postgresql libpq-dev libqpid-proton-cpp12-dev libcpp-httplib-dev
  # benchmark plots
  gnuplot-nox
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev librapidcheck-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
