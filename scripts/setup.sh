#!/usr/bin/env bash
# Installs what Earshot's build and tests need on a fresh Debian machine, and starts
# Postgres for the tests. Safe to run again: each step checks first.
set -euo pipefail

need_root() { if [ "$(id -u)" -ne 0 ]; then echo "sudo"; fi; }

# The Rust toolchain (rustup's cargo) is expected; say so plainly if it is missing.
if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    else
        echo "error: cargo not found. Install Rust (https://rustup.rs) and run this again." >&2
        exit 1
    fi
fi

# A C compiler and pkg-config for crates that build C (SQLite is bundled by sqlx).
missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if [ "${1:-}" = "--with-postgres" ] && ! command -v pg_ctlcluster >/dev/null 2>&1; then
    missing+=(postgresql)
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing ${missing[*]}"
    $(need_root) apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $(need_root) apt-get install -y -qq "${missing[@]}"
fi

if [ "${1:-}" = "--with-postgres" ]; then
    if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
        echo "==> starting PostgreSQL"
        version=$(ls /etc/postgresql | sort -V | tail -n 1)
        $(need_root) pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
        for _ in $(seq 1 30); do
            pg_isready -q -h 127.0.0.1 -p 5432 && break
            sleep 1
        done
    fi
    pg_isready -h 127.0.0.1 -p 5432 || {
        echo "error: PostgreSQL is not answering on 127.0.0.1:5432; the tests need it (see README)." >&2
        exit 1
    }
fi
