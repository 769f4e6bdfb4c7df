#!/usr/bin/env bash
# Runs the scale-out benchmark (benches/scale.rs): 2,000 local feed sources answering after
# 50 ms each, crawled by 1 and then by 3 `earshot serve --role crawler` processes on one
# Postgres database; prints sources/s per run, the medians, the speed-up, and each
# process's VmRSS at its peak while crawling and idle afterwards.
#
#   EARSHOT_BENCH_REPS     runs per setting (default 3; medians are reported)
#   EARSHOT_TEST_POSTGRES  the Postgres to use (default postgres://postgres@127.0.0.1:5432/postgres)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$(dirname "$here")"
scripts/setup.sh --with-postgres
echo >&2 "==> cargo bench --bench scale (release build; the first build takes a few minutes)"
exec cargo bench --bench scale -- --runs "${EARSHOT_BENCH_REPS:-3}" "$@"
