#!/usr/bin/env bash
# Installs everything the tests need, checks style and types, and runs the whole
# suite inside a private network namespace (see docs/operations.md, "Tests"):
# only loopback and one private address, 10.199.0.1, exist in it, so no test
# packet can leave the machine. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --test

echo "==> ruff"
.venv/bin/ruff check .
echo "==> mypy"
.venv/bin/mypy

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

echo "==> pytest (in a private network namespace)"
set +e
as_root unshare --net -- sh -c '
  set -e
  ip link set lo up
  ip link add t0 type ifb 2>/dev/null || ip link add t0 type dummy
  ip addr add 10.199.0.1/32 dev t0
  ip link set t0 up
  CONF_TEST_NETNS=1 exec "$0" -m pytest "$@"
' "$PWD/.venv/bin/python" "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$status"
