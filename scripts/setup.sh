#!/usr/bin/env bash
# Installs what Earshot's build and tests need on a fresh Debian machine. With
# --with-postgres it also starts Postgres for the tests; with --with-browser it installs
# the browser test's Chromium, Node and playwright-core; with --with-schemathesis it
# installs the pinned schemathesis in a venv of its own; with --with-smtp it installs the
# pinned aiosmtpd (the notification test's mail sink) in a venv of its own. Safe to run
# again: each step checks first.
set -euo pipefail

with_postgres=no
with_browser=no
with_schemathesis=no
with_smtp=no
for arg in "$@"; do
    case "$arg" in
        --with-postgres) with_postgres=yes ;;
        --with-browser) with_browser=yes ;;
        --with-schemathesis) with_schemathesis=yes ;;
        --with-smtp) with_smtp=yes ;;
        *) echo "usage: $0 [--with-postgres] [--with-browser] [--with-schemathesis] [--with-smtp]" >&2; exit 2 ;;
    esac
done

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
if [ "$with_postgres" = yes ] && ! command -v pg_ctlcluster >/dev/null 2>&1; then
    missing+=(postgresql)
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing ${missing[*]}"
    $(need_root) apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $(need_root) apt-get install -y -qq "${missing[@]}"
fi

if [ "$with_postgres" = yes ]; then
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

# The browser test (tests/widget_browser.rs): Debian's Chromium, driven by playwright-core
# (pinned in tests/browser/package-lock.json; it uses /usr/bin/chromium and downloads no
# browser of its own). EARSHOT_SKIP_BROWSER=1 skips this step and that test.
if [ "$with_browser" = yes ] && [ "${EARSHOT_SKIP_BROWSER:-}" != "1" ]; then
    browser_missing=()
    [ -x /usr/bin/chromium ] || browser_missing+=(chromium)
    command -v node >/dev/null 2>&1 || browser_missing+=(nodejs)
    command -v npm >/dev/null 2>&1 || browser_missing+=(npm)
    if [ ${#browser_missing[@]} -gt 0 ]; then
        echo "==> installing ${browser_missing[*]} (for the browser test)"
        $(need_root) apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $(need_root) apt-get install -y -qq "${browser_missing[@]}"
    fi
    browser_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
    if [ ! -d "$browser_dir/node_modules/playwright-core" ] \
        || [ "$browser_dir/package-lock.json" -nt "$browser_dir/node_modules/.package-lock.json" ]; then
        echo "==> npm ci in tests/browser (playwright-core, for the browser test)"
        (cd "$browser_dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
fi

# The schemathesis test (tests/schemathesis.rs): schemathesis from PyPI at a pinned
# version, in a venv of its own so that neither the system's Python nor the model build's
# venv is touched. EARSHOT_SKIP_SCHEMATHESIS=1 skips this step and that test.
SCHEMATHESIS_VERSION=4.32.5
if [ "$with_schemathesis" = yes ] && [ "${EARSHOT_SKIP_SCHEMATHESIS:-}" != "1" ]; then
    venv="${EARSHOT_SCHEMATHESIS_VENV:-$HOME/.cache/earshot/schemathesis-venv}"
    if [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
        if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
            echo "==> installing python3-venv (for schemathesis)"
            $(need_root) apt-get update -qq
            DEBIAN_FRONTEND=noninteractive $(need_root) apt-get install -y -qq python3 python3-venv
        fi
        echo "==> installing schemathesis $SCHEMATHESIS_VERSION in $venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
    fi
fi

# The notification test's SMTP sink (tests/notify.rs): aiosmtpd from PyPI at a pinned
# version, in a venv of its own.
AIOSMTPD_VERSION=1.4.6
if [ "$with_smtp" = yes ]; then
    venv="${EARSHOT_SMTP_VENV:-$HOME/.cache/earshot/smtp-venv}"
    if ! "$venv/bin/python" -c "import aiosmtpd, sys; sys.exit(aiosmtpd.__version__ != '$AIOSMTPD_VERSION')" >/dev/null 2>&1; then
        if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
            echo "==> installing python3-venv (for aiosmtpd)"
            $(need_root) apt-get update -qq
            DEBIAN_FRONTEND=noninteractive $(need_root) apt-get install -y -qq python3 python3-venv
        fi
        echo "==> installing aiosmtpd $AIOSMTPD_VERSION in $venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION"
    fi
fi
