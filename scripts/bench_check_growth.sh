#!/usr/bin/env bash
# Benchmark: how `mongrate check` grows with the number of collections. For 500, 1,000 and
# 2,400 collections in one database (each with four fields, a validator and three indexes, no
# two validators alike; a local mongod's open-file limit stops near 2,800), R runs each (default
# 7): median wall time, CPU time (user + system) and peak RSS, then per collection: CPU and
# memory over a check of one collection (the fixed cost of a run: start, connect, one catalog
# read).
#   scripts/bench_check_growth.sh [R]   (uses MONGODB_URI or starts a local mongod)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-7}"
cargo build --release --quiet
bin=target/release/mongrate
if [ -z "${MONGODB_URI:-}" ]; then
  MONGODB_URI="$(python3 scripts/mongod.py start)"
  export MONGODB_URI
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
make_schemas() {
  python3 - "$work/s$1" "$1" <<'PY'
import os, sys
root = os.path.join(sys.argv[1], "mongrate_bench_growth")
os.makedirs(root)
for i in range(int(sys.argv[2])):
    with open(os.path.join(root, f"c{i:04}.yaml"), "w") as f:
        f.write(
            "fields:\n"
            "  name: { type: string, required: true }\n"
            f"  status: {{ type: string, enum: [new, done, s{i}] }}\n"
            f"  n{i}: {{ type: int }}\n"
            "  at: { type: date }\n"
            "indexes:\n"
            "  - keys: { name: 1 }\n"
            "    unique: true\n"
            "  - keys: { status: 1, at: -1 }\n"
            "  - keys: { at: 1 }\n"
            "    expire_after: 30d\n"
        )
PY
}
# One run's wall seconds, CPU seconds and peak RSS (KB), medians of R runs.
measure() {
  "$bin" check --quiet --schemas "$1" > /dev/null  # in sync (exit 0), and warm
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S %M" "$bin" check --quiet --schemas "$1" 2>&1 >/dev/null | tail -1
  done | python3 -c '
import sys, statistics
rows = [l.split() for l in sys.stdin if l.strip()]
med = lambda k: statistics.median(float(r[k]) for r in rows)
print("%.3f %.3f %d" % (med(0), statistics.median(float(r[1]) + float(r[2]) for r in rows), med(3)))'
}
printf '%-12s %9s %9s %10s %16s %16s\n' collections wall_s cpu_s rss_KB cpu_ms/coll rss_KB/coll
base=""
for n in 1 500 1000 2400; do
  make_schemas "$n"
  "$bin" apply --yes --quiet --prune --allow-destructive --schemas "$work/s$n" > /dev/null 2>&1
  read -r wall cpu rss < <(measure "$work/s$n")
  if [ -z "$base" ]; then
    base="$cpu $rss"
    printf '%-12s %9s %9s %10s %16s %16s\n' "$n" "$wall" "$cpu" "$rss" "(fixed cost)" ""
  else
    read -r bcpu brss <<< "$base"
    awk -v n="$n" -v w="$wall" -v c="$cpu" -v r="$rss" -v bc="$bcpu" -v br="$brss" 'BEGIN {
      printf "%-12s %9s %9s %10s %16.3f %16.1f\n", n, w, c, r, (c - bc) * 1000 / (n - 1), (r - br) / (n - 1) }'
  fi
done
"$bin" apply --yes --quiet --prune --allow-destructive --schemas "$work/s1" > /dev/null 2>&1 || true
