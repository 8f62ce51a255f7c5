#!/usr/bin/env bash
# Fuzz the three loaders (spec files, migration files, mongrate.yaml) with cargo fuzz
# (libFuzzer). Runs outside CI. Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] (default 1200).
# Needs cargo-fuzz (`cargo install cargo-fuzz`); RUSTC_BOOTSTRAP lets the stable toolchain
# build with the sanitizer flags cargo fuzz uses. Seed corpora come from the repository's own
# files; crashes land in fuzz/artifacts/<target>/ (turn each into a case in tests/corpus).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-1200}"
export RUSTC_BOOTSTRAP=1
mkdir -p fuzz/corpus/spec_loader fuzz/corpus/migration_loader fuzz/corpus/config_loader
find schemas fixtures/promptforge_live/schemas -name '*.yaml' -exec cp {} fuzz/corpus/spec_loader/ \; 2>/dev/null || true
n=0; for f in $(find schemas fixtures/promptforge_live/schemas -name '*.yaml'); do n=$((n+1)); cp "$f" "fuzz/corpus/spec_loader/$n.yaml"; done
n=0; for f in migrations/*.yaml; do n=$((n+1)); head -c 60000 "$f" > "fuzz/corpus/migration_loader/$n.yaml"; done
printf 'uri_env: MONGODB_URI\nschemas: schemas\nmigrations: migrations\nstate_db: mongrate\nserver_timeout: 10\nenvironments:\n  prod: { uri_env: PROD_MONGODB_URI, state_db: mongrate_prod }\n' > fuzz/corpus/config_loader/1.yaml
cd fuzz
cargo fuzz build -O
for target in spec_loader migration_loader config_loader; do
  echo "== $target: ${secs}s"
  cargo fuzz run -O "$target" -- -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
    -dict=yaml.dict -print_final_stats=1 2>&1 | grep -E "stat::|Done|SUMMARY|crash|panicked|#[0-9]+.*DONE" || true
done
