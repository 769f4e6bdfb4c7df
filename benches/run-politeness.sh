#!/usr/bin/env bash
# Runs the politeness benchmark (benches/politeness.rs): 20 hosts x 50 pages on 127.0.0.1
# at a 0.2 s per-host interval, fetched through Earshot's Fetcher; prints the wall time
# over the lower bound (50 x 0.2 s) and the violations the servers counted.
#
#   EARSHOT_BENCH_REPS    runs (default 5; the median ratio is reported)
#
# It needs nothing but cargo: the hosts are local servers in the benchmark's own process.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$(dirname "$here")"
echo >&2 "==> cargo bench --bench politeness (release build; the first build takes a few minutes)"
exec cargo bench --bench politeness
