#!/usr/bin/env bash
# Runs Earshot's whole test suite: unit tests, both storage backends (SQLite and the
# Postgres at 127.0.0.1:5432, started here if needed), the crawler against misbehaving
# local sites, the feed corpora, the real sentiment model, the review widget in headless
# Chromium, schemathesis against the OpenAPI document, and the real binary end to end.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --with-postgres --with-browser --with-schemathesis --with-smtp
export PATH="$HOME/.cargo/bin:$PATH"

# The real default sentiment model (built once, then cached under ~/.cache/earshot/models).
scripts/build-model.sh

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"
# One closing line for the whole suite (cargo prints one per test binary, and the last
# of those is often an empty doc-test run).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "\nearshot: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
