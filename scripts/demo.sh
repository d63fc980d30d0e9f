#!/usr/bin/env bash
# The demo:  bash scripts/demo.sh [--no-server] [--addrport 127.0.0.1:8000]
#
# 1. creates .venv if missing and installs this checkout into it (-e .) plus pgserver, a wheel
#    that ships PostgreSQL 16 (no system install, no Docker, no root needed);
# 2. runs the example project's tour (example/manage.py demo): migrate (installs the audit
#    triggers), create the admin user, write through every path (ORM, request, bulk, queryset,
#    raw SQL from another program, logins, an export, an exception, a security probe) and print
#    the audit trail it produced as a table;
# 3. serves the example on http://127.0.0.1:8000/admin/ (login admin / admin) until Ctrl-C,
#    unless --no-server is given.
#
# Database: DATABASE_URL when set (e.g. `docker compose up -d` and
# DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres), otherwise an embedded
# PostgreSQL whose data is kept in .pgdata/demo (delete that folder to start over). It is stopped
# when the demo exits. Set PYTHON to choose the interpreter the venv is made from (>= 3.10).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
say() { printf '==> %s\n' "$*"; }

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "scripts/demo.sh: needs Python 3.10 or newer as \$PYTHON (found: $("$PYTHON" --version 2>&1))" >&2
    exit 2
fi

if ! "$VENV/bin/python" -c '' >/dev/null 2>&1; then
    say "creating $VENV with $("$PYTHON" --version 2>&1)"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi

# Reinstall only when what the install depends on changed (a re-run starts in seconds).
stamp=$VENV/.pgaudit-demo-stamp
want=$({ cat pyproject.toml setup.py; echo "pgserver>=0.1.4"; "$VENV/bin/python" -VV; } |
    "$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
if [ "$want" != "$(cat "$stamp" 2>/dev/null || true)" ] ||
    ! "$VENV/bin/python" -c 'import pgaudit_django, pgserver' >/dev/null 2>&1; then
    log=$VENV/demo-install.log
    started=$SECONDS
    say "installing pgaudit_django (-e .) and pgserver into $VENV (log: $log)"
    if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -e . "pgserver>=0.1.4" \
        >"$log" 2>&1; then
        tail -n 25 "$log" >&2
        echo "scripts/demo.sh: pip install failed; full log: $log" >&2
        exit 1
    fi
    printf '%s\n' "$want" >"$stamp"
    say "installed in $((SECONDS - started)) s"
else
    say "$VENV: dependencies up to date"
fi

if [ -n "${DATABASE_URL:-}" ]; then
    say "database: DATABASE_URL is set; the demo uses that server"
else
    say "database: embedded PostgreSQL (pgserver), data in .pgdata/demo"
fi
# exec: Ctrl-C and SIGTERM reach Python directly, which stops the embedded server on its way out.
exec "$VENV/bin/python" example/manage.py demo "$@"
