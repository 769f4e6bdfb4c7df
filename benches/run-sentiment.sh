#!/usr/bin/env bash
# Runs the sentiment benchmark (benches/sentiment.rs) with its model and Python peer ready.
#
# The model comes from scripts/build-model.sh (a no-op when it is already built). The peer,
# benches/sentiment_peer.py, needs onnxruntime, numpy and tokenizers; the model build's own
# virtualenv has them, so it is the default interpreter.
#
#   EARSHOT_BENCH_PYTHON  the peer's interpreter (default ~/.cache/earshot/model-venv/bin/python)
#   EARSHOT_BENCH_REPS    repetitions per measurement (default 3; passed through)
#   EARSHOT_MODEL_DIR     the model directory (default ~/.cache/earshot/models/e5-small-sentiment-v1)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"

echo >&2 "==> scripts/build-model.sh (no-op when the model is cached)"
"$root/scripts/build-model.sh" >&2

export EARSHOT_BENCH_PYTHON="${EARSHOT_BENCH_PYTHON:-$HOME/.cache/earshot/model-venv/bin/python}"
"$EARSHOT_BENCH_PYTHON" -c 'import onnxruntime, tokenizers, numpy' \
    || { echo >&2 "error: $EARSHOT_BENCH_PYTHON lacks onnxruntime, tokenizers or numpy"; exit 1; }
echo >&2 "==> peer: $("$EARSHOT_BENCH_PYTHON" --version 2>&1)"
echo >&2 "==> cargo bench --bench sentiment (release build)"
cd "$root"
exec cargo bench --bench sentiment
