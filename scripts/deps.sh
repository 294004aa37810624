#!/usr/bin/env bash
# Installs what floe's build and tests need on Debian 12.
#   scripts/deps.sh          C toolchain and -dev packages (apt-get, as root)
#   scripts/deps.sh --npm    also the npm test oracles in tests/interop
# Not root: prints the exact apt-get line and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES="build-essential cmake pkg-config clang libclang-rt-14-dev \
libzstd-dev libsnappy-dev zlib1g-dev liblz4-dev libjansson-dev libyaml-dev \
libsqlite3-dev sqlite3 libpq-dev postgresql libcurl4-openssl-dev libssl-dev \
openssl nodejs npm python3-dev python3-venv"

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# Node may come from outside Debian's packages (as on the CI image): accept
# any node >= 18 with npm on PATH.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=$(echo "$missing" | tr ' ' '\n' | grep -vx -e nodejs -e npm | tr '\n' ' ')
fi
missing=$(echo $missing)
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "deps: installing $missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq $missing >/dev/null
  else
    echo "deps: missing Debian packages. Run as root:" >&2
    echo "  apt-get update && apt-get install -y $missing" >&2
    exit 1
  fi
fi

# npm ci in each folder whose lock file is newer than its node_modules.
npm_install() {
  if [ ! -d "$1/node_modules" ] || [ "$1/package-lock.json" -nt "$1/node_modules" ]; then
    echo "deps: npm ci in $1"
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$1/node_modules"
  fi
}
if [ "${1:-}" = "--npm" ]; then
  npm_install tests/interop
  npm_install tests/snowflake-emulator
fi
