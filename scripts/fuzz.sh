#!/usr/bin/env bash
# The long fuzzing campaign (docs/security.md, "Fuzzing"): the Hypothesis
# fuzzers of tests/security/test_fuzz_*.py with the long profile, >= 100,000
# cases in all (6,000 x each target's weight; CONF_FUZZ_EXAMPLES changes the
# 6,000), against real servers, inside a private network namespace like
# scripts/test.sh (only lo and 10.199.0.1 exist there: the SDP/ICE fuzzer hands
# the server's ICE agent arbitrary candidates). Prints the cases run, the
# distinct failures and the time of every target. A run is random; repeat one
# with CONF_FUZZ_SEED=<seed it printed>. Extra arguments go to pytest, e.g.
# scripts/fuzz.sh -k rest. Run scripts/setup.sh --test first.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  echo "no .venv: run scripts/setup.sh --test first" >&2
  exit 2
fi

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo --preserve-env "$@"; fi; }

stats=$(mktemp /tmp/conf-fuzz-stats.XXXXXX)
export CONF_FUZZ_PROFILE=long CONF_FUZZ_STATS="$stats"
: "${CONF_FUZZ_SEED:=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
export CONF_FUZZ_SEED
started=$(date +%s)

echo "==> fuzzing (long profile, seed $CONF_FUZZ_SEED), in a private network namespace"
set +e
as_root unshare --net -- sh -c '
  set -e
  ip link set lo up
  ip link add t0 type ifb 2>/dev/null || ip link add t0 type dummy
  ip addr add 10.199.0.1/32 dev t0
  ip link set t0 up
  CONF_TEST_NETNS=1 exec "$0" -m pytest -q -p no:cacheprovider --timeout=0 \
    tests/security/test_fuzz_socketio.py tests/security/test_fuzz_rest.py \
    tests/security/test_fuzz_sdp.py "$@"
' "$PWD/.venv/bin/python" "$@"
status=$?
set -e

.venv/bin/python - "$stats" "$(( $(date +%s) - started ))" <<'EOF'
import json
import sys

lines = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
print()
print(f"{'target':<78} {'cases':>8} {'failures':>8} {'seconds':>8}")
for line in lines:
    name = line["test"].rsplit("/", 1)[-1].removeprefix("test_fuzz_")
    print(f"{name:<78} {line['cases']:>8} {line['failures']:>8} {line['seconds']:>8}")
    for signature, count in sorted(line["violations"].items()):
        print(f"    {count:>6} x {signature[:150]}")
cases = sum(line["cases"] for line in lines)
failures = sum(line["failures"] for line in lines)
print(f"{'total':<78} {cases:>8} {failures:>8} {sys.argv[2]:>8}")
EOF
rm -f "$stats"
exit "$status"
