#!/usr/bin/env bash
# Benchmark `migrate up` of N one-index migrations against the floor and migrate-mongo.
#   scripts/bench_migrate.sh [N] [ROUNDS]   (default 200 and 3; uses MONGODB_URI or starts a
#   local mongod). migrate-mongo is installed from npm into ~/.cache/mongrate/npm the first
#   time (skipped, with a note, when npm is missing or the install fails).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
if [ -z "${MONGODB_URI:-}" ]; then
  MONGODB_URI="$(python3 scripts/mongod.py start)"
  export MONGODB_URI
fi
npm_dir="${HOME}/.cache/mongrate/npm"
mm="$npm_dir/node_modules/.bin/migrate-mongo"
if [ ! -x "$mm" ] && command -v npm >/dev/null; then
  npm install --silent --prefix "$npm_dir" migrate-mongo@14 >/dev/null 2>&1 || echo "note: could not install migrate-mongo; timing without it" >&2
fi
if [ -x "$mm" ]; then
  export MIGRATE_MONGO="$mm"
fi
cargo bench --quiet --bench migrate -- "${1:-200}" "${2:-3}"
