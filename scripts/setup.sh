#!/usr/bin/env bash
# Installs conf-server into ./.venv with the browser client's npm packages, and
# builds the client's bundle (web_client/dist).
#   scripts/setup.sh          what the server needs
#   scripts/setup.sh --test   plus what the test suite needs (Chromium, Redis, coturn, nftables, espeak-ng, test extras)
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages, installed only when missing.
packages=()
python3 -m venv --help >/dev/null 2>&1 && python3 -c "import ensurepip" 2>/dev/null || packages+=(python3-venv)
command -v npm >/dev/null || packages+=(npm)
# The SFU's compiled send step (sfu/_rtp_send.c; optional, but the tests expect it).
command -v cc >/dev/null || packages+=(gcc)
python3 -c 'import os, sysconfig; raise SystemExit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
  || packages+=(python3-dev)
if [ "$with_tests" -eq 1 ]; then
  command -v chromium >/dev/null || packages+=(chromium)
  command -v redis-server >/dev/null || packages+=(redis-server)
  command -v turnserver >/dev/null || packages+=(coturn)
  command -v nft >/dev/null || packages+=(nftables)
  command -v ip >/dev/null || packages+=(iproute2)
  command -v unshare >/dev/null || packages+=(util-linux)
  # Spoken test media for the transcript tests (tests/recording/spoken_media.py).
  command -v espeak-ng >/dev/null || packages+=(espeak-ng)
fi
if [ "${#packages[@]}" -gt 0 ]; then
  echo "==> apt-get install ${packages[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  python3 -m venv .venv
fi
extras=""
[ "$with_tests" -eq 1 ] && extras="[test]"
echo "==> pip install -e .${extras}"
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".${extras}"

echo "==> npm ci and npm run build (web_client)"
(cd web_client && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
