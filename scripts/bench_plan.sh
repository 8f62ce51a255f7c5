#!/usr/bin/env bash
# Benchmark: `mongrate check` and `mongrate plan` on all five seed databases (48 collections)
# against a local server, after applying them. Prints min / median / max wall time of N runs.
#   scripts/bench_plan.sh [N]        (default 20; uses MONGODB_URI or starts a local mongod)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-20}"
cargo build --release --quiet
bin=target/release/mongrate
if [ -z "${MONGODB_URI:-}" ]; then
  MONGODB_URI="$(python3 scripts/mongod.py start)"
  export MONGODB_URI
fi
"$bin" apply --yes --quiet > /dev/null
"$bin" check > /dev/null   # must be in sync (exit 0) before timing
measure() {
  local name="$1"; shift
  local times=()
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s%N)
    "$bin" "$@" > /dev/null
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v name="$name" -v n="$runs" '
    { a[NR] = $1 } END { printf "%-6s runs=%d min=%.1fms median=%.1fms max=%.1fms\n", name, n, a[1]/1000, a[int((n+1)/2)]/1000, a[n]/1000 }'
}
measure check check
measure plan plan
