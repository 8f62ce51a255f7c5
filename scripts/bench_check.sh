#!/usr/bin/env bash
# Benchmark: `mongrate check` of 1,000 collections in one database, and of 200 tenant databases
# covered by one template (the chatbase_db seed schemas), and the first with `--databases` naming
# its one database (a fleet of one), against a local server. Prints min /
# median / max wall time of N runs per binary, side by side in one run.
#   scripts/bench_check.sh [N] [OTHER_BINARY...]
# N defaults to 10; each OTHER_BINARY (e.g. a release build of an earlier commit) is timed on
# the same server, in the same run, after this checkout's release build.
# Uses MONGODB_URI, or starts a local mongod.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
shift || true
cargo build --release --quiet
bins=(target/release/mongrate "$@")
if [ -z "${MONGODB_URI:-}" ]; then
  MONGODB_URI="$(python3 scripts/mongod.py start)"
  export MONGODB_URI
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# 1,000 collections, each with four fields, a validator and three indexes.
python3 - "$work/wide" <<'PY'
import os, sys
root = os.path.join(sys.argv[1], "mongrate_bench_wide")
os.makedirs(root)
for i in range(1000):
    with open(os.path.join(root, f"c{i:04}.yaml"), "w") as f:
        f.write(
            "fields:\n"
            "  name: { type: string, required: true }\n"
            "  status: { type: string, enum: [new, done] }\n"
            "  n: { type: int }\n"
            "  at: { type: date }\n"
            "indexes:\n"
            "  - keys: { name: 1 }\n"
            "    unique: true\n"
            "  - keys: { status: 1, at: -1 }\n"
            "  - keys: { at: 1 }\n"
            "    expire_after: 30d\n"
        )
PY
# 200 tenants from one template.
mkdir -p "$work/fleet/mongrate_bench_t_*"
cp schemas/chatbase_db/*.yaml "$work/fleet/mongrate_bench_t_*/"
tenants=$(python3 -c 'print(",".join(f"mongrate_bench_t_{i:04}" for i in range(1, 201)))')
"${bins[0]}" apply --yes --quiet --schemas "$work/wide" > /dev/null
"${bins[0]}" apply --yes --quiet --schemas "$work/fleet" --databases "$tenants" > /dev/null
measure() {
  local name="$1" bin="$2"; shift 2
  "$bin" "$@" > /dev/null   # in sync (exit 0), and warm
  local times=()
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s%N)
    "$bin" "$@" > /dev/null
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v name="$name" -v n="$runs" '
    { a[NR] = $1 } END { printf "%-44s runs=%d min=%.1fms median=%.1fms max=%.1fms\n", name, n, a[1]/1000, a[int((n+1)/2)]/1000, a[n]/1000 }'
}
for bin in "${bins[@]}"; do
  measure "check 1,000 collections  ($bin)" "$bin" check --schemas "$work/wide"
  measure "  the same, --databases NAME ($bin)" "$bin" check --schemas "$work/wide" --databases mongrate_bench_wide
  measure "check 200 tenants        ($bin)" "$bin" check --schemas "$work/fleet"
done
