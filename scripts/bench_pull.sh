#!/usr/bin/env bash
# Benchmark pull (full scan and sample) against a plain driver find().
#   scripts/bench_pull.sh [N]   (default 1000000; uses MONGODB_URI or starts a local mongod)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
if [ -z "${MONGODB_URI:-}" ]; then
  MONGODB_URI="$(python3 scripts/mongod.py start)"
  export MONGODB_URI
fi
cargo bench --quiet --bench pull -- "${1:-1000000}"
