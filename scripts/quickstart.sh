#!/usr/bin/env bash
# From a fresh checkout: build mongrate, start a local MongoDB (unless MONGODB_URI is set), check
# the example schemas, show a generated validator, then plan, apply and check them on the server.
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
"$mongrate" validator workflowai.contacts | head -20
echo "   ..."
echo "== mongrate plan (last lines)"
"$mongrate" plan | tail -4
echo "== mongrate apply --yes"
"$mongrate" apply --yes --quiet > /dev/null
echo "== mongrate check"
"$mongrate" check
