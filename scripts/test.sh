#!/usr/bin/env bash
# The project's test command:  bash scripts/test.sh [pytest args...]
#
# 1. creates .venv if missing and installs the project with its test extra (-e ".[test]");
# 2. installs the Debian packages pgbouncer, chromium and chromium-driver when they are missing and
#    we are root with apt-get (the tests that need them skip with a reason otherwise);
# 3. runs `ruff check .` and `mypy` (files and options in pyproject.toml);
# 4. runs pytest once per matrix entry, forwarding this script's arguments to each run:
#      default   newest allowed Django (5.2), psycopg 3        in .venv
#      psycopg2  the same venv with PGAUDIT_TEST_DRIVER=psycopg2 (read by tests/settings.py)
#      django42  Django 4.2 LTS, psycopg 3                     in .venv-dj42
#    PGAUDIT_TEST_MATRIX=quick runs only "default"; "full" (the default) runs all three.
#
# The PostgreSQL server comes from devtools.postgres: DATABASE_URL / PGAUDIT_DATABASE_URL if set,
# else a throwaway one (testcontainers, pgserver or the machine's initdb).
# Exits non-zero if ruff or any pytest run fails; a run that collects no tests (pytest's exit code
# 5) counts as a failure, so a broken test layout cannot pass silently.
# Set PYTHON to pick the interpreter the venvs are made from (default python3).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
MATRIX=${PGAUDIT_TEST_MATRIX:-full}
case "$MATRIX" in
    quick | full) ;;
    *)
        echo "scripts/test.sh: PGAUDIT_TEST_MATRIX must be 'quick' or 'full', not '$MATRIX'" >&2
        exit 2
        ;;
esac

say() { printf '==> %s\n' "$*"; }

# ensure_venv DIR [extra requirement...]: make DIR a venv holding -e ".[test]" plus the extras.
# The install is skipped when nothing it depends on changed since the last successful one, which
# saves ~10 s per venv on repeated local runs; pip's output goes to DIR/pip-install.log.
ensure_venv() {
    local dir=$1
    shift
    if ! "$dir/bin/python" -c '' >/dev/null 2>&1; then
        say "creating $dir with $("$PYTHON" --version 2>&1)"
        rm -rf "$dir"
        "$PYTHON" -m venv "$dir"
    fi
    local want have log=$dir/pip-install.log started=$SECONDS
    want=$({ cat pyproject.toml setup.py; printf '%s\n' "$@"; "$dir/bin/python" -VV; } |
        "$dir/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
    have=$(cat "$dir/.pgaudit-install-stamp" 2>/dev/null || true)
    if [ "$want" = "$have" ]; then
        say "$dir: dependencies up to date"
        return 0
    fi
    say "$dir: installing -e .[test]${*:+ $*} (log: $log)"
    if ! "$dir/bin/python" -m pip install --disable-pip-version-check -e ".[test]" "$@" \
        >"$log" 2>&1; then
        tail -n 25 "$log" >&2
        echo "scripts/test.sh: pip install into $dir failed; full log: $log" >&2
        return 1
    fi
    printf '%s\n' "$want" >"$dir/.pgaudit-install-stamp"
    say "$dir: installed in $((SECONDS - started)) s"
}

# Debian packages for the pgbouncer and browser tests. Never fatal: those tests skip with a reason.
install_system_packages() {
    local missing=()
    command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
    command -v chromium >/dev/null || missing+=(chromium)
    command -v chromedriver >/dev/null || missing+=(chromium-driver)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        say "missing ${missing[*]} (not root or no apt-get): the tests that need them will skip"
        return 0
    fi
    local log=.venv/apt-install.log started=$SECONDS
    say "apt-get installing ${missing[*]} (log: $log)"
    # The lock timeout waits for another apt run (e.g. unattended upgrades) instead of failing.
    if {
        apt-get -o DPkg::Lock::Timeout=300 update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
                "${missing[@]}"
    } >"$log" 2>&1; then
        say "apt-get done in $((SECONDS - started)) s"
    else
        tail -n 10 "$log"
        say "apt-get failed (see $log): the tests that need ${missing[*]} will skip"
    fi
}

failures=()

# run_pytest LABEL VENV DRIVER [pytest args...]; DRIVER "" keeps the settings' default driver.
run_pytest() {
    local label=$1 venv=$2 driver=$3 rc=0 started=$SECONDS
    shift 3
    say "pytest [$label]${driver:+ with PGAUDIT_TEST_DRIVER=$driver}"
    (
        [ -z "$driver" ] || export PGAUDIT_TEST_DRIVER="$driver"
        # One test database per run (tests/settings.py reads it), so runs sharing a server never
        # trip over each other's leftovers.
        export PGAUDIT_TEST_DB_NAME="${PGAUDIT_TEST_DB_NAME:-test_pgaudit_$label}"
        exec "$venv/bin/python" -m pytest -q "$@"
    ) || rc=$?
    if [ "$rc" -eq 5 ]; then
        echo "scripts/test.sh: pytest [$label] collected no tests; counted as a failure" >&2
    fi
    if [ "$rc" -ne 0 ]; then
        failures+=("pytest[$label]:exit-$rc")
    fi
    say "pytest [$label] finished in $((SECONDS - started)) s (exit $rc)"
}

ensure_venv .venv
install_system_packages

say "ruff check ."
if ! .venv/bin/ruff check .; then
    failures+=("ruff")
fi

say "mypy (pgaudit_django, devtools)"
if ! .venv/bin/mypy; then
    failures+=("mypy")
fi

run_pytest default .venv "" "$@"
if [ "$MATRIX" = full ]; then
    run_pytest psycopg2 .venv psycopg2 "$@"
    if ensure_venv .venv-dj42 "Django>=4.2,<5.0"; then
        run_pytest django42 .venv-dj42 "" "$@"
    else
        failures+=("install[.venv-dj42]")
    fi
fi

if [ ${#failures[@]} -ne 0 ]; then
    echo "scripts/test.sh: FAILED: ${failures[*]}" >&2
    exit 1
fi
say "scripts/test.sh: all checks passed (matrix: $MATRIX)"
