#!/usr/bin/env bash
# The API benchmark (issue 4), in one run:
#
#   1. SQLite with 100,000 mentions (20,000 approved reviews of one brand), seeded through
#      the real store (benches/api.rs), served by the real API; wrk on the brand's public
#      review feed (first page), alternating with nginx serving the very same bytes as a
#      static file, the practical ceiling. Same wrk settings, medians of the repetitions.
#   2. Postgres with 1,000,000 mentions in a throwaway database; wrk --latency on
#      GET /api/v1/alerts?status=open with a pr key, at one connection and at many.
#
# It installs wrk and nginx with apt-get when they are missing, and needs the Postgres at
# EARSHOT_BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres, trust auth).
# Whatever happens, the trap stops nginx and the servers and drops the database.
#
#   EARSHOT_BENCH_REPS         wrk runs per measurement (default 3)
#   EARSHOT_BENCH_DURATION     seconds per wrk run (default 10)
#   EARSHOT_BENCH_THREADS      wrk threads for the feed and nginx (default 2)
#   EARSHOT_BENCH_CONNECTIONS  wrk connections for the feed and nginx (default 64)
#   EARSHOT_BENCH_ALERT_CONNECTIONS  connection counts for the alert list (default "1 16")
#   EARSHOT_BENCH_SKIP_POSTGRES=1    only the public feed
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
reps="${EARSHOT_BENCH_REPS:-3}"
duration="${EARSHOT_BENCH_DURATION:-10}"
threads="${EARSHOT_BENCH_THREADS:-2}"
connections="${EARSHOT_BENCH_CONNECTIONS:-64}"
alert_connections="${EARSHOT_BENCH_ALERT_CONNECTIONS:-1 16}"
admin_url="${EARSHOT_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
slug="lumora"

say() { echo >&2 "==> $*"; }

# --- tools ------------------------------------------------------------------------------
missing=()
command -v wrk >/dev/null || missing+=(wrk)
[[ -x /usr/sbin/nginx ]] || command -v nginx >/dev/null || missing+=(nginx)
command -v psql >/dev/null || missing+=(postgresql-client)
command -v jq >/dev/null || missing+=(jq)
if ((${#missing[@]})); then
    say "installing ${missing[*]} with apt-get"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"

say "cargo bench --bench api --no-run (release build)"
cd "$root"
bin="$(cargo bench --bench api --no-run --message-format=json \
    | jq -r 'select(.reason == "compiler-artifact" and .target.name == "api" and .executable != null) | .executable' \
    | tail -n 1)"
[[ -x "$bin" ]] || { echo >&2 "error: could not find the api benchmark's executable"; exit 1; }

# --- cleanup, whatever happens ------------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/earshot-apibench.XXXXXX")"
db="earshot_bench_$$"
server_pid=""
nginx_started=""
db_created=""
cleanup() {
    local rc=$?
    set +e
    if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
    if [[ -n "$nginx_started" && -s "$work/nginx.pid" ]]; then
        kill "$(cat "$work/nginx.pid")" 2>/dev/null
        sleep 0.5
    fi
    if [[ -n "$db_created" ]]; then
        psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 \
            || echo >&2 "warning: could not drop database $db"
    fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts the benchmark's API server over the store at $1; sets server_pid and port.
start_server() {
    rm -f "$work/port"
    "$bin" serve "$1" "$work/port" 2>"$work/server.log" &
    server_pid=$!
    for _ in $(seq 1 100); do
        [[ -s "$work/port" ]] && break
        kill -0 "$server_pid" 2>/dev/null || { cat >&2 "$work/server.log"; exit 1; }
        sleep 0.1
    done
    port="$(cat "$work/port")"
}

stop_server() {
    kill "$server_pid" && wait "$server_pid" || true
    server_pid=""
}

# One wrk run; prints its output and keeps it in $work/wrk.out. Fails on any error or
# non-2xx answer, so a broken endpoint cannot pass for a fast one.
run_wrk() {
    wrk "$@" >"$work/wrk.out" 2>&1 || { cat >&2 "$work/wrk.out"; exit 1; }
    if grep -Eq 'Non-2xx|Socket errors' "$work/wrk.out"; then
        cat >&2 "$work/wrk.out"
        echo >&2 "error: wrk saw errors or non-2xx answers"
        exit 1
    fi
    cat >&2 "$work/wrk.out"
}
rps() { awk '/^Requests\/sec:/ {print $2}' "$work/wrk.out"; }
# A latency percentile from --latency output, in milliseconds.
pct() {
    awk -v p="$1%" '$1 == p {
        v = $2
        if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v) }
        else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
        printf "%.2f", v }' "$work/wrk.out"
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "# API benchmark, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo
echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/^Mem:/ {print $2}') GiB; load average at the start: $(load)."
echo "Tools: $(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2), $("$nginx_bin" -v 2>&1 | cut -d' ' -f3), $(psql --version)."
echo

# --- 1. the public feed against nginx -----------------------------------------------------
say "seeding SQLite (100,000 mentions through the real store)"
echo "## Public review feed (SQLite) against nginx"
echo
sqlite_url="sqlite://$work/earshot.db"
"$bin" seed-sqlite "$sqlite_url" "$work" | tee "$work/seed-sqlite.txt" | sed 's/^/- /'
echo "- SQLite file: $(du -ch "$work"/earshot.db* | tail -n1 | cut -f1)"
start_server "$sqlite_url"
feed="http://127.0.0.1:$port/public/v1/brands/$slug/reviews"
mkdir -p "$work/www"
curl -fsS -D "$work/feed.headers" -o "$work/www/reviews.json" "$feed"
# nginx's workers run as an unprivileged user: let them read the body (mktemp made 0700).
chmod 755 "$work" "$work/www"
chmod 644 "$work/www/reviews.json"
[[ "$(jq '.reviews | length' "$work/www/reviews.json")" == 20 ]] \
    || { echo >&2 "error: the feed's first page does not hold 20 reviews"; exit 1; }

nginx_port="$("$bin" free-port)"
cat >"$work/nginx.conf" <<EOF
worker_processes auto;
daemon on;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path $work/nginx-body;
    proxy_temp_path $work/nginx-proxy;
    fastcgi_temp_path $work/nginx-fastcgi;
    uwsgi_temp_path $work/nginx-uwsgi;
    scgi_temp_path $work/nginx-scgi;
    types { application/json json; }
    server {
        listen 127.0.0.1:$nginx_port;
        root $work/www;
        location / {
            add_header Cache-Control "public, max-age=300";
            add_header Access-Control-Allow-Origin "*";
            add_header Access-Control-Allow-Methods "GET, OPTIONS";
            add_header Access-Control-Allow-Headers "If-None-Match";
            add_header Access-Control-Expose-Headers "ETag";
            add_header X-Content-Type-Options "nosniff";
        }
    }
}
EOF
"$nginx_bin" -c "$work/nginx.conf" -p "$work" 2>"$work/nginx-start.log" \
    || { cat >&2 "$work/nginx-start.log"; exit 1; }
nginx_started=1
static="http://127.0.0.1:$nginx_port/reviews.json"
curl -fsS -o "$work/static.json" "$static"
cmp -s "$work/static.json" "$work/www/reviews.json" \
    || { echo >&2 "error: nginx does not serve the feed's bytes"; exit 1; }
echo "- body: $(stat -c %s "$work/www/reviews.json") bytes, the same for both (checked with cmp)"
echo "- wrk -t$threads -c$connections -d${duration}s, $reps runs each, alternating, after a 3 s warm-up of each; load average before: $(load)"

wrk -t"$threads" -c"$connections" -d3s "$feed" >/dev/null 2>&1
wrk -t"$threads" -c"$connections" -d3s "$static" >/dev/null 2>&1
earshot_rps=()
nginx_rps=()
ratios=()
for i in $(seq 1 "$reps"); do
    say "feed run $i/$reps: Earshot"
    run_wrk -t"$threads" -c"$connections" -d"${duration}s" "$feed"
    e="$(rps)"
    say "feed run $i/$reps: nginx"
    run_wrk -t"$threads" -c"$connections" -d"${duration}s" "$static"
    n="$(rps)"
    earshot_rps+=("$e")
    nginx_rps+=("$n")
    ratios+=("$(awk -v e="$e" -v n="$n" 'BEGIN {printf "%.3f", e / n}')")
done
em="$(median "${earshot_rps[@]}")"
nm="$(median "${nginx_rps[@]}")"
echo
echo "| server | median req/s | every run |"
echo "|---|---:|---|"
echo "| Earshot \`GET /public/v1/brands/$slug/reviews\` | $em | ${earshot_rps[*]} |"
echo "| nginx, the same body as a static file | $nm | ${nginx_rps[*]} |"
echo
echo "- ratio of medians, Earshot / nginx: $(awk -v e="$em" -v n="$nm" 'BEGIN {printf "%.1f%%", 100 * e / n}') (target: at least 50%)"
echo "- per pair: $(for r in "${ratios[@]}"; do awk -v r="$r" 'BEGIN {printf "%.1f%% ", 100 * r}'; done)"
echo "- load average after: $(load)"
stop_server
kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
nginx_started=""
echo

# --- 2. the alert list on Postgres -------------------------------------------------------
if [[ "${EARSHOT_BENCH_SKIP_POSTGRES:-}" == 1 ]]; then exit 0; fi
say "creating database $db"
psql -q "$admin_url" -c "CREATE DATABASE $db" >/dev/null
db_created=1
pg_url="$(echo "$admin_url" | sed -E "s#/[^/?]*(\?|$)#/$db\1#")"
echo "## Alert list (Postgres, $(psql -tA "$admin_url" -c 'SHOW server_version'))"
echo
say "seeding Postgres (1,000,000 mentions)"
"$bin" seed-postgres "$pg_url" "$work" | tee "$work/seed-postgres.txt" | sed 's/^/- /'
start_server "$pg_url"
key="$(cat "$work/key")"
alerts="http://127.0.0.1:$port/api/v1/alerts?status=open"
curl -fsS -H "Authorization: Bearer $key" -o "$work/alerts.json" "$alerts"
[[ "$(jq '.items | length' "$work/alerts.json")" == 50 ]] \
    || { echo >&2 "error: the alert list's first page does not hold 50 alerts"; exit 1; }
echo "- first page: 50 alerts, $(stat -c %s "$work/alerts.json") bytes; load average before: $(load)"
echo
echo "| connections | median p50 | median p90 | median p99 | median req/s | every run's p99 (ms) |"
echo "|---:|---:|---:|---:|---:|---|"
for c in $alert_connections; do
    t=$((c < threads ? c : threads))
    wrk -t"$t" -c"$c" -d3s -H "Authorization: Bearer $key" "$alerts" >/dev/null 2>&1
    p50s=(); p90s=(); p99s=(); rs=()
    for i in $(seq 1 "$reps"); do
        say "alert list, $c connections, run $i/$reps"
        run_wrk -t"$t" -c"$c" -d"${duration}s" --latency -H "Authorization: Bearer $key" "$alerts"
        p50s+=("$(pct 50)"); p90s+=("$(pct 90)"); p99s+=("$(pct 99)"); rs+=("$(rps)")
    done
    echo "| $c (wrk -t$t) | $(median "${p50s[@]}") ms | $(median "${p90s[@]}") ms | $(median "${p99s[@]}") ms | $(median "${rs[@]}") | ${p99s[*]} |"
done
echo
echo "- target: p99 under 20 ms; load average after: $(load)"
