#!/usr/bin/env bash
# Benchmark the migrate phase of a declared evolution against one updateMany, with and without writers.
#   scripts/bench_evolve.sh [N]   (default 1000000; uses MONGODB_URI or starts a local mongod)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
if [ -z "${MONGODB_URI:-}" ]; then
  MONGODB_URI="$(python3 scripts/mongod.py start)"
  export MONGODB_URI
fi
cargo bench --quiet --bench evolve -- "${1:-1000000}"
