#!/usr/bin/env bash
# Runs Earshot's whole test suite: unit tests, both storage backends (SQLite and the
# Postgres at 127.0.0.1:5432, started here if needed), the crawler against misbehaving
# local sites, the feed corpora, and the real binary end to end.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --with-postgres
export PATH="$HOME/.cargo/bin:$PATH"

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo test"
cargo test --workspace --locked
