#!/usr/bin/env bash
# The benchmark suite in its own venv:  bash scripts/bench.sh [--peers] [python -m benchmarks args]
#
# 1. creates .venv-bench if missing (PGAUDIT_BENCH_VENV to change it) and installs the project;
# 2. with --peers, installs the peer libraries (django-pghistory, django-auditlog,
#    django-simple-history) one by one: a peer that fails to install is reported by the suite
#    as "n/a (not installed)" instead of stopping everything;
# 3. runs `python -m benchmarks` with the arguments given (see docs/performance.md).
#
# The PostgreSQL server comes from DATABASE_URL / PGAUDIT_DATABASE_URL, else devtools.postgres
# starts a throwaway one. The suite creates and drops its own database (bench_pgaudit).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
VENV=${PGAUDIT_BENCH_VENV:-.venv-bench}
PEERS=("django-pghistory>=3.5" "django-auditlog>=3" "django-simple-history>=3.5")

say() { printf '==> %s\n' "$*" >&2; }

if ! "$VENV/bin/python" -c '' >/dev/null 2>&1; then
    say "creating $VENV with $("$PYTHON" --version 2>&1)"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi

# Reinstall only when the project's dependencies changed since the last successful install.
stamp=$("$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())' \
    < <(cat pyproject.toml setup.py; "$VENV/bin/python" -VV))
if [ "$(cat "$VENV/.bench-stamp" 2>/dev/null || true)" != "$stamp" ]; then
    say "$VENV: installing the project (log: $VENV/pip-install.log)"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -e . >"$VENV/pip-install.log" 2>&1 || {
        tail -n 20 "$VENV/pip-install.log" >&2
        exit 1
    }
    printf '%s\n' "$stamp" >"$VENV/.bench-stamp"
fi

for arg in "$@"; do
    if [ "$arg" = "--peers" ]; then
        for peer in "${PEERS[@]}"; do
            name=${peer%%[<>=]*}
            if "$VENV/bin/python" -m pip show "$name" >/dev/null 2>&1; then
                continue
            fi
            say "installing $peer"
            "$VENV/bin/python" -m pip install --disable-pip-version-check "$peer" \
                >>"$VENV/pip-install.log" 2>&1 || say "could not install $peer (see $VENV/pip-install.log)"
        done
    fi
done

exec "$VENV/bin/python" -m benchmarks "$@"
