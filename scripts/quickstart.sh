#!/usr/bin/env bash
# From a fresh checkout: build mongrate, start a local MongoDB (unless MONGODB_URI is set), check
# the example schemas, print a generated validator, and load the live PromptForge fixture.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
mongrate=target/debug/mongrate
if [ -z "${MONGODB_URI:-}" ]; then
  MONGODB_URI="$(python3 scripts/mongod.py start)"
  export MONGODB_URI
  echo "local mongod: $MONGODB_URI (stop it with: python3 scripts/mongod.py stop)"
fi
echo "== mongrate validate --schemas schemas"
"$mongrate" validate --schemas schemas
echo "== mongrate validator workflowai.contacts"
"$mongrate" validator workflowai.contacts
echo "== mongrate seed fixtures/promptforge_live/data --drop"
"$mongrate" seed fixtures/promptforge_live/data --drop
