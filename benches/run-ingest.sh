#!/usr/bin/env bash
# Runs the ingest benchmark (benches/ingest.rs) with its Python peer ready.
#
# The benchmark compares Earshot's end-to-end ingest with Python's feedparser parsing the
# same files, so it needs a Python that has feedparser. This script keeps one in a
# virtualenv (created on first use, reused after) and points the benchmark at it.
#
#   EARSHOT_BENCH_VENV    where the virtualenv lives (default ~/.cache/earshot/bench-venv)
#   EARSHOT_BENCH_REPS    repetitions per measurement (default 5; passed through)
#   EARSHOT_BENCH_DIR     keep the generated feeds here instead of a temporary folder
#   PYTHON                the interpreter that creates the virtualenv (default python3)
set -euo pipefail

# The version the published figures were measured with; bump it deliberately, since a
# different feedparser is a different peer.
FEEDPARSER_VERSION="6.0.14"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
venv="${EARSHOT_BENCH_VENV:-$HOME/.cache/earshot/bench-venv}"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
    echo >&2 "==> creating the peer's virtualenv at $venv (with $python)"
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
fi

if ! "$venv/bin/python" -c "import feedparser, sys; sys.exit(feedparser.__version__ != '$FEEDPARSER_VERSION')" 2>/dev/null; then
    echo >&2 "==> installing feedparser==$FEEDPARSER_VERSION into $venv"
    "$venv/bin/python" -m pip install --quiet "feedparser==$FEEDPARSER_VERSION" >&2
fi

export EARSHOT_BENCH_PYTHON="$venv/bin/python"
echo >&2 "==> peer: $("$EARSHOT_BENCH_PYTHON" --version 2>&1), feedparser $("$EARSHOT_BENCH_PYTHON" -c 'import feedparser; print(feedparser.__version__)')"
echo >&2 "==> cargo bench --bench ingest (release build; the first build takes a few minutes)"
cd "$root"
exec cargo bench --bench ingest
