#!/usr/bin/env bash
# Benchmark a fleet of N tenant databases against a sequential client.
#   scripts/bench_fleet.sh [N]   (default 200; uses MONGODB_URI or starts a local mongod)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
if [ -z "${MONGODB_URI:-}" ]; then
  MONGODB_URI="$(python3 scripts/mongod.py start)"
  export MONGODB_URI
fi
cargo bench --quiet --bench fleet -- "${1:-200}"
