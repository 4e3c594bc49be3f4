#!/usr/bin/env bash
# Installs, from Debian 12's packages, whatever Hutong needs to build, test and benchmark
# that this machine does not have yet. Idempotent: a second run installs nothing.
set -euo pipefail

packages=(
  build-essential cmake ccache pkg-config git curl jq openssl ca-certificates
  libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev
  libsqlite3-dev sqlite3 libpq-dev postgresql
  libssl-dev libsodium-dev libqrencode-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nginx-light wrk procps
  chromium fonts-noto-cjk
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# The browser tests run on Node.js (18 or later) with npm: Debian's packages unless the
# commands are already there (e.g. from NodeSource, whose nodejs bundles npm and conflicts
# with Debian's npm).
if ! command -v node >/dev/null; then missing+=(nodejs); fi
if ! command -v npm >/dev/null; then missing+=(npm); fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts a cluster and nginx on install; tests bring their own, so stop the
# system ones where they were just started to keep ports 80/5432 free and quiet.
if printf '%s\n' "${missing[@]}" | grep -qx nginx-light; then
  $SUDO service nginx stop >/dev/null 2>&1 || true
fi
