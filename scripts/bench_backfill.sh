#!/usr/bin/env bash
# Benchmark backfill against the floor (3 x updateMany) and time check --data.
#   scripts/bench_backfill.sh [N]   (default 1000000; uses MONGODB_URI or starts a local mongod)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
if [ -z "${MONGODB_URI:-}" ]; then
  MONGODB_URI="$(python3 scripts/mongod.py start)"
  export MONGODB_URI
fi
cargo bench --quiet --bench backfill -- "${1:-1000000}"
