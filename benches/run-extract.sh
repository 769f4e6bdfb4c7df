#!/usr/bin/env bash
# Runs the review-extraction benchmark (crawler/benches/extract.rs) with its Python peer ready.
#
# The benchmark compares Earshot's review-page extractor with Python's extruct on the saved
# real pages of ../shared/corpora/recipe-scrapers-pages, so it needs a Python that has
# extruct. This script keeps one in a virtualenv (created on first use, reused after) and
# points the benchmark at it.
#
#   EARSHOT_EXTRACT_VENV  where the virtualenv lives (default ~/.cache/earshot/extract-venv)
#   EARSHOT_BENCH_REPS    alternating runs of each side (default 5; passed through)
#   EARSHOT_CORPORA       the corpora folder (default ../shared/corpora next to the repository)
#   PYTHON                the interpreter that creates the virtualenv (default python3)
set -euo pipefail

# The version the published figures were measured with; bump it deliberately, since a
# different extruct is a different peer.
EXTRUCT_VERSION="0.18.0"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
venv="${EARSHOT_EXTRACT_VENV:-$HOME/.cache/earshot/extract-venv}"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
    echo >&2 "==> creating the peer's virtualenv at $venv (with $python)"
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
fi

if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('extruct') != '$EXTRUCT_VERSION')" 2>/dev/null; then
    echo >&2 "==> installing extruct==$EXTRUCT_VERSION into $venv"
    "$venv/bin/python" -m pip install --quiet "extruct==$EXTRUCT_VERSION" >&2
fi

export EARSHOT_BENCH_PYTHON="$venv/bin/python"
echo >&2 "==> cargo bench -p earshot-crawler --bench extract (release build; the first build takes a few minutes)"
cd "$root"
exec cargo bench -p earshot-crawler --bench extract
