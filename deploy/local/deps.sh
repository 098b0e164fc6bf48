#!/usr/bin/env bash
# deps.sh - install the Debian packages liangze needs that are missing.
#
# Build: compilers are assumed; the libraries' -dev packages, protoc-c, cmocka.
# Run: PostgreSQL 15, Redis 7.  Check: clang-format, cppcheck, docker-compose;
# curl, jq and python3 (a raw Redis client in it_scorer.sh) for the integration
# tests; chromium, a Chinese font (and node/npm when missing) for the dashboard.
# Needs root (or sudo) only when something is missing.
set -euo pipefail

pkgs=(
    build-essential pkg-config git
    libzmq3-dev libczmq-dev libprotobuf-c-dev protobuf-c-compiler
    libhiredis-dev libpq-dev libmicrohttpd-dev libjansson-dev libsodium-dev
    libcurl4-openssl-dev libcmocka-dev
    postgresql postgresql-contrib redis-server
    clang-format cppcheck docker-compose curl jq procps python3
    chromium fonts-wqy-microhei
)
# the dashboard's build (npm) and its browser tests (node): only when missing
command -v node >/dev/null || pkgs+=(nodejs)
command -v npm >/dev/null || pkgs+=(npm)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# the packaged servers must not hold the ports or data: liangze runs its own
if command -v service >/dev/null; then
    "${sudo[@]}" service redis-server stop >/dev/null 2>&1 || true
    "${sudo[@]}" service postgresql stop >/dev/null 2>&1 || true
fi
