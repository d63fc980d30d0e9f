"""``python -m benchmarks``: the benchmark suite of issue 6 (see docs/performance.md).

    python -m benchmarks                 # 5 interleaved repetitions, our models only (~5 min)
    python -m benchmarks --peers         # + django-pghistory (row and statement level),
                                         #   django-auditlog, django-simple-history
    python -m benchmarks --quick         # CI smoke: tiny sizes, 1 repetition, asserts capture
    python -m benchmarks --large         # + a 10M-row audit table (not for CI: ~15 min)
    bash scripts/bench.sh [args]         # the same in a venv that has the peers installed

The server is ``PGAUDIT_DATABASE_URL``/``DATABASE_URL`` or whatever ``devtools.postgres``
provides; the suite creates (and afterwards drops) its own database on it, ``bench_pgaudit`` by
default. It prints Markdown to stdout and progress to stderr.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PEERS = ("pghistory", "auditlog", "simple_history")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 5; --quick 1)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: small sizes, 1 repetition, fail unless every change was captured",
    )
    parser.add_argument("--peers", action="store_true", help="also measure the peer libraries")
    parser.add_argument("--large", action="store_true", help="also measure a 10M-row audit table")
    parser.add_argument("--large-rows", type=int, default=10_000_000, help="audit rows for --large")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated workload keys (create_autocommit, create_atomic, bulk_create, "
        "queryset_update, single_save, queryset_delete, raw_update)",
    )
    parser.add_argument("--db-name", default="", help="database to create (default bench_pgaudit)")
    parser.add_argument(
        "--keep-db", action="store_true", help="do not drop the database at the end"
    )
    parser.add_argument("--output", type=Path, help="also write the Markdown report to this file")
    parser.add_argument("--json", type=Path, help="write the raw results as JSON to this file")
    args = parser.parse_args(argv)
    if args.reps is None:
        args.reps = 1 if args.quick else 5
    if args.quick and args.large:
        parser.error("--quick and --large do not go together")
    return args


def available_peers() -> tuple[list[str], dict[str, str]]:
    found, missing = [], {}
    for peer in PEERS:
        if importlib.util.find_spec(peer) is None:
            missing[peer] = "not installed (bash scripts/bench.sh --peers installs it)"
        else:
            found.append(peer)
    return found, missing


def server_url() -> str:
    from devtools.postgres import provision

    # DATABASE_URL / PGAUDIT_DATABASE_URL when set, else a throw-away server.
    return provision("bench").url


def _admin_connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


def create_database(url: str, name: str) -> None:
    from psycopg import sql

    with _admin_connect(url) as conn:
        # WITH (FORCE) ends leftover sessions of an interrupted earlier run (PostgreSQL 13+).
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(url: str, name: str) -> None:
    from psycopg import sql

    with _admin_connect(url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def prepare_migrations_folder() -> str:
    folder = tempfile.mkdtemp(prefix="pgaudit-bench-migrations-")
    package = Path(folder) / "pgaudit_bench_migrations"
    package.mkdir()
    (package / "__init__.py").write_text("")
    return folder


def setup_django(url: str, db_name: str, peers: list[str], migrations: str) -> None:
    os.environ["PGAUDIT_BENCH_SERVER_URL"] = url
    os.environ["PGAUDIT_BENCH_DB_NAME"] = db_name
    os.environ["PGAUDIT_BENCH_PEERS"] = ",".join(peers)
    os.environ["PGAUDIT_BENCH_MIGRATIONS"] = migrations
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
    import django
    from django.conf import settings

    django.setup()
    for label in getattr(settings, "LOCAL_APPS", []):
        sub = Path(migrations) / "pgaudit_bench_migrations" / label
        sub.mkdir(exist_ok=True)
        (sub / "__init__.py").write_text("")

    from django.core.management import call_command

    started = time.monotonic()
    call_command("makemigrations", *getattr(settings, "LOCAL_APPS", []), verbosity=0)
    call_command("migrate", verbosity=0)
    allow_truncate()
    print(
        f"[bench] database {db_name} migrated in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
        flush=True,
    )


def allow_truncate() -> None:
    """Let the suite empty the audit tables between repetitions.

    The audit tables are append-only (migration 0003's guard triggers refuse TRUNCATE). The
    benchmark database is a throw-away one, like a test database, so it takes the same
    allowance Django's test runner takes, when the installed schema has it.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regprocedure('pgaudit_allow_test_truncate(boolean)') IS NOT NULL")
        row = cursor.fetchone()
        if row and row[0]:
            cursor.execute("SELECT pgaudit_allow_test_truncate(true)")


def machine_description() -> dict[str, str]:
    from django.db import connection

    shown: dict[str, str] = {}
    with connection.cursor() as cursor:
        for name in ("server_version", "synchronous_commit", "shared_buffers"):
            cursor.execute(f"SHOW {name}")
            row = cursor.fetchone()
            shown[name] = str(row[0]) if row else "?"
    import django

    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpus": str(os.cpu_count()),
        "machine": f"{platform.system()} {platform.machine()}",
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": shown["server_version"],
        "synchronous_commit": shown["synchronous_commit"],
        "shared_buffers": shown["shared_buffers"],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    peers: list[str] = []
    missing_peers: dict[str, str] = {}
    if args.peers:
        peers, missing_peers = available_peers()
    url = server_url()
    db_name = args.db_name or ("bench_pgaudit_quick" if args.quick else "bench_pgaudit")
    if not db_name.startswith("bench_"):
        print("--db-name must start with bench_ (the suite drops it)", file=sys.stderr)
        return 2
    create_database(url, db_name)
    migrations = prepare_migrations_folder()
    try:
        setup_django(url, db_name, peers, migrations)
        return _run(args, peers, missing_peers)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            drop_database(url, db_name)


def _run(args: argparse.Namespace, peers: list[str], missing_peers: dict[str, str]) -> int:
    from benchmarks import report
    from benchmarks.runner import Options, run_all
    from benchmarks.subjects import build_subjects
    from benchmarks.workloads import WORKLOADS, WORKLOADS_BY_KEY

    workloads = WORKLOADS
    if args.only:
        workloads = tuple(WORKLOADS_BY_KEY[key.strip()] for key in args.only.split(","))
    options = Options(reps=args.reps, quick=args.quick, workloads=workloads)
    if args.quick:
        options.read_rounds, options.read_requests = 1, 5
        options.storage_rows, options.plan_rows = 200, 500
    subjects = build_subjects(tuple(peers))
    machine = machine_description()
    results = run_all(subjects, options)
    large = None
    if args.large:
        from benchmarks.large import run_large

        large = run_large(subjects, options, args.large_rows, results)
    text = report.render(subjects, options, results, machine, missing_peers, large)
    print(text)
    if args.output:
        args.output.write_text(text)
    if args.json:
        args.json.write_text(
            json.dumps(
                report.as_json(subjects, options, results, machine, large), indent=2, default=str
            )
        )
    if results.failures:
        print("\nCAPTURE FAILURES:", file=sys.stderr)
        for failure in results.failures:
            print(f"  - {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
