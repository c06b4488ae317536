#!/usr/bin/env bash
# The impaired-network sweep (docs/performance.md, "Impaired networks"): three
# headless Chromium participants in network namespaces of their own, C's link
# impaired (tbf for bandwidth, a userspace relay for loss and delay); two runs
# per scenario, medians; tables printed and written to netlab-results/.
#
#   scripts/impaired_networks.sh [--before <commit>] [--runs N] [--out DIR]
#                                [--window S] [--chromium-pattern] [scenario ...]
#
# Scenarios: clean down300 loss5 up250 (default: all). With --before, a git
# worktree of <commit> is measured first ("before"), then this tree ("after").
# Needs root. The harness runs under `unshare --net`: it has only loopback, and
# every packet of the meeting stays inside the namespaces the run creates.
set -euo pipefail
cd "$(dirname "$0")/.."

before=""
runs=2
out=netlab-results
scenarios=()
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --before) before="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --window) extra+=(--window "$2"); shift 2 ;;
    --chromium-pattern) extra+=(--chromium-pattern); shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) scenarios+=("$1"); shift ;;
  esac
done

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

sweep() { # label source-tree
  as_root unshare --net -- sh -c 'ip link set lo up; exec "$@"' sh \
    "$PWD/.venv/bin/python" -m conf_bench.netlab --runs "$runs" --out "$out" \
    --label "$1" --source-tree "$2" ${extra[@]+"${extra[@]}"} ${scenarios[@]+"${scenarios[@]}"}
}

if [ -n "$before" ]; then
  worktree="/tmp/netlab-before-$(git rev-parse --short "$before")"
  created=""
  if [ ! -d "$worktree" ]; then
    git worktree add --detach "$worktree" "$before" >/dev/null
    created=1
  fi
  trap 'if [ -n "$created" ]; then git worktree remove --force "$worktree"; fi' EXIT
  echo "==> before: $(git -C "$worktree" log --oneline -1)"
  sweep before "$worktree"
  echo "==> after: $(git log --oneline -1) (working tree)"
  sweep after "$PWD"
else
  sweep current "$PWD"
fi
