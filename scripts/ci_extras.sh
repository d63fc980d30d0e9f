#!/usr/bin/env bash
# CI steps besides the test suite, run by .ci/run:   bash scripts/ci_extras.sh [docs|wheel]...
#
#   docs   docs/capture.md's generated SQL is current, and `mkdocs build --strict` passes (a broken
#          link or anchor fails the build);
#   wheel  build the wheel and sdist, check that every file of the package ships in them
#          (migrations, SQL, templates, migrations_templates/, py.typed), install the wheel into a
#          fresh virtualenv and run the example project's tour from it (`demo --no-server`), plus
#          `pgaudit_init` and `makemigrations --check` for the example.
#
# No argument runs both. The database: DATABASE_URL when set (a fresh database is created on that
# server and dropped afterwards), else the example's embedded PostgreSQL (pgserver) in a temp dir.
# Tools live in .venv-docs (created when missing, reused when pyproject.toml has not changed).
# PYTHON picks the interpreter (default python3); PGAUDIT_SMOKE_PYTHON another one for the wheel's
# virtualenv only, e.g. the oldest supported Python, which the test matrix does not cover.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
SMOKE_PYTHON=${PGAUDIT_SMOKE_PYTHON:-$PYTHON}
TOOLS=.venv-docs
STEPS=("$@")
[ ${#STEPS[@]} -eq 0 ] && STEPS=(docs wheel)

say() { printf '==> %s\n' "$*"; }
work=$(mktemp -d "${TMPDIR:-/tmp}/pgaudit-ci.XXXXXX")
smoke_db=""
cleanup() {
    if [ -n "$smoke_db" ]; then
        "$work/venv/bin/python" - "$smoke_db" <<'EOF' || true
import os, sys
import psycopg
with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
    conn.execute(f'DROP DATABASE IF EXISTS "{sys.argv[1]}" WITH (FORCE)')
EOF
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# The tools venv: mkdocs (docs extra), build, and the package itself (the SQL generator imports it).
ensure_tools() {
    if ! "$TOOLS/bin/python" -c '' >/dev/null 2>&1; then
        rm -rf "$TOOLS"
        "$PYTHON" -m venv "$TOOLS"
    fi
    local want have
    want=$({ cat pyproject.toml setup.py; "$TOOLS/bin/python" -VV; } |
        "$TOOLS/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
    have=$(cat "$TOOLS/.pgaudit-ci-stamp" 2>/dev/null || true)
    [ "$want" = "$have" ] && return 0
    local started=$SECONDS
    say "$TOOLS: installing -e .[docs] and build (log: $TOOLS/pip-install.log)"
    if ! "$TOOLS/bin/python" -m pip install --disable-pip-version-check -e ".[docs]" "build>=1.0" \
        >"$TOOLS/pip-install.log" 2>&1; then
        tail -n 25 "$TOOLS/pip-install.log" >&2
        return 1
    fi
    printf '%s\n' "$want" >"$TOOLS/.pgaudit-ci-stamp"
    say "$TOOLS: installed in $((SECONDS - started)) s"
}

step_docs() {
    local started=$SECONDS
    say "docs: generated SQL in docs/capture.md is current"
    "$TOOLS/bin/python" docs/gen_trigger_example.py --check
    say "docs: mkdocs build --strict"
    # Not --quiet: it hides the warnings that --strict counts, and the build then passes.
    if ! NO_MKDOCS_2_WARNING=1 "$TOOLS/bin/mkdocs" build --strict -d "$work/site" \
        >"$work/mkdocs.log" 2>&1; then
        grep -E "WARNING|ERROR|Aborted" "$work/mkdocs.log" >&2 || cat "$work/mkdocs.log" >&2
        return 1
    fi
    say "docs: built in $((SECONDS - started)) s"
}

step_wheel() {
    local started=$SECONDS
    say "wheel: building the wheel and sdist"
    "$TOOLS/bin/python" -m build --outdir "$work/dist" . >"$work/build.log" 2>&1 ||
        { tail -n 30 "$work/build.log" >&2; return 1; }
    say "wheel: checking what ships"
    "$TOOLS/bin/python" - "$work/dist" <<'EOF'
"""Every file of the package (and migrations_templates/) must be in the wheel and the sdist."""
import pathlib, sys, tarfile, zipfile

dist = pathlib.Path(sys.argv[1])
wheel = next(dist.glob("*.whl"))
sdist = next(dist.glob("*.tar.gz"))
skip = lambda p: "__pycache__" in p.parts or p.suffix in (".pyc", ".pyo") or p.is_dir()
expected_wheel, expected_sdist = set(), set()
for root, prefix in (("pgaudit_django", "pgaudit_django"),
                     ("migrations_templates", "pgaudit_django/_migrations_templates")):
    for path in pathlib.Path(root).rglob("*"):
        if not skip(path):
            rel = path.relative_to(root).as_posix()
            expected_wheel.add(f"{prefix}/{rel}")
            expected_sdist.add(f"{root}/{rel}")
expected_sdist |= {"README.md", "pyproject.toml", "setup.py"}
in_wheel = set(zipfile.ZipFile(wheel).namelist())
with tarfile.open(sdist) as tar:
    in_sdist = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
problems = [f"missing from the wheel: {name}" for name in sorted(expected_wheel - in_wheel)]
problems += [f"missing from the sdist: {name}" for name in sorted(expected_sdist - in_sdist)]
for name in problems:
    print(name)
if problems:
    sys.exit(1)
migrations = sorted(n for n in in_wheel if "/migrations/0" in n)
print(f"{wheel.name}: {len(in_wheel)} files, migrations: {', '.join(m.rsplit('/', 1)[1] for m in migrations)}")
print(f"{sdist.name}: {len(in_sdist)} files")
EOF

    say "wheel: installing it into a fresh virtualenv ($("$SMOKE_PYTHON" --version 2>&1))"
    "$SMOKE_PYTHON" -m venv "$work/venv"
    local extra=()
    [ -n "${DATABASE_URL:-}" ] || extra=("pgserver>=0.1.4")  # the example's embedded database
    "$work/venv/bin/python" -m pip install --disable-pip-version-check "$work"/dist/*.whl \
        "${extra[@]}" >"$work/install.log" 2>&1 || { tail -n 25 "$work/install.log" >&2; return 1; }

    # The example runs from a copy outside the checkout, so only the installed wheel can be
    # imported as pgaudit_django (and devtools, which is not shipped, is absent).
    cp -r example "$work/example"
    find "$work/example" -name __pycache__ -prune -exec rm -rf {} +
    # env's options must precede its assignments: collect both, then build the prefix.
    local unset=(-u PYTHONPATH) assign=(DJANGO_SETTINGS_MODULE=exampleproject.settings)
    if [ -n "${DATABASE_URL:-}" ]; then
        smoke_db=demo_wheel_smoke_$$
        local url
        url=$("$work/venv/bin/python" - "$smoke_db" <<'EOF'
import os, sys
from urllib.parse import urlsplit
import psycopg
name = sys.argv[1]
with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.execute(f'CREATE DATABASE "{name}"')
print(urlsplit(os.environ["DATABASE_URL"])._replace(path="/" + name).geturl())
EOF
)
        assign+=("DATABASE_URL=$url")
    else
        unset+=(-u DATABASE_URL)
        assign+=("PGAUDIT_DEMO_DATA_DIR=$work/pgdata")
    fi
    local env=(env "${unset[@]}" "${assign[@]}")
    (
        cd "$work"
        "${env[@]}" venv/bin/python -c 'import pgaudit_django, sys; p = pgaudit_django.__file__; print("pgaudit_django from", p); sys.exit("not the wheel" if "/venv/" not in p else 0)'
        say "wheel: example tour from the installed wheel"
        "${env[@]}" venv/bin/python example/manage.py demo --no-server >tour.log 2>&1 ||
            { cat tour.log >&2; exit 1; }
        grep -E "^==> |audit rows from" tour.log
        for step in 1 2 3 4 5 6 7 8 9 10 11; do
            grep -Eq "^(──|--) $step\. " tour.log ||
                { echo "tour step $step missing" >&2; cat tour.log >&2; exit 1; }
        done
        say "wheel: makemigrations --check for the example (same SQL from the wheel)"
        "${env[@]}" venv/bin/python example/manage.py makemigrations --check --dry-run shop audit_triggers
        say "wheel: pgaudit_init renders the trigger app from the shipped templates"
        "${env[@]}" venv/bin/python example/manage.py pgaudit_init smoke_triggers --directory init >/dev/null
        grep -q "declare_trigger_models" init/smoke_triggers/models.py
        grep -q "name = \"smoke_triggers\"" init/smoke_triggers/apps.py
    )
    say "wheel: smoke test passed in $((SECONDS - started)) s"
}

ensure_tools
for step in "${STEPS[@]}"; do
    case "$step" in
        docs) step_docs ;;
        wheel) step_wheel ;;
        *)
            echo "scripts/ci_extras.sh: unknown step '$step' (docs, wheel)" >&2
            exit 2
            ;;
    esac
done
say "scripts/ci_extras.sh: ${STEPS[*]} passed"
