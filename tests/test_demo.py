"""The README's first command cannot rot: the example project's tour runs end to end.

``example/manage.py demo --no-server`` runs in a subprocess (its own settings, its own process,
as a user would run it) against a fresh database on the test server, and every step of the tour
must show the audit rows it is there to demonstrate.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection

REPO = Path(__file__).resolve().parent.parent
MANAGE = REPO / "example" / "manage.py"
TIMEOUT_S = 240

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("PGAUDIT_TEST_DRIVER") == "psycopg2",
        reason="the demo runs in its own process on psycopg 3: the default run covers it",
    ),
]


def _driver() -> Any:
    # The psycopg2 run of the suite hides psycopg 3 (tests/settings.py): take what imports.
    for name in ("psycopg", "psycopg2"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise RuntimeError("neither psycopg nor psycopg2 is importable")


def _server_kwargs() -> dict[str, Any]:
    db = connection.settings_dict
    kwargs = {
        "host": db["HOST"],
        "port": db["PORT"],
        "user": db["USER"],
        "password": db["PASSWORD"],
    }
    return {key: value for key, value in kwargs.items() if value}


def _admin_sql(*statements: str) -> None:
    """Run statements on the server's own database (the one named in the settings)."""
    conn = _driver().connect(dbname=connection.settings_dict["NAME"], **_server_kwargs())
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
    finally:
        conn.close()


def _url(dbname: str) -> str:
    # host and port as query parameters: works for a TCP host and for a socket folder alike.
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    query = "&".join(
        f"{key}={quote(str(value), safe='/')}"
        for key, value in (("host", db["HOST"]), ("port", db["PORT"]))
        if value
    )
    return f"postgresql://{auth}@/{dbname}" + (f"?{query}" if query else "")


@pytest.fixture(scope="module")
def demo_env(django_db_blocker: Any) -> Iterator[dict[str, str]]:
    # One name per suite run (scripts/test.sh gives each matrix entry its own test database).
    name = "demo_" + os.environ.get("PGAUDIT_TEST_DB_NAME", "test_pgaudit")
    name = re.sub(r"[^a-z0-9_]", "_", name.lower())[:63]
    with django_db_blocker.unblock():
        _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_SETTINGS_MODULE", "PGAUDIT_DATABASE_URL", "PGAUDIT_TEST_DRIVER")
    }
    env.update(
        DATABASE_URL=_url(name),
        DJANGO_SETTINGS_MODULE="exampleproject.settings",
        # The checkout's pgaudit_django, also when the venv has no editable install of it.
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        COLUMNS="160",
        PYTHONIOENCODING="utf-8",
    )
    yield env
    with django_db_blocker.unblock():
        _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(MANAGE), *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=TIMEOUT_S,
    )


def _sections(output: str) -> dict[int, str]:
    """The trail table split by tour step: {step number: that step's rows}."""
    parts = re.split(r"^(?:──|--) (\d+)\. .*$", output, flags=re.MULTILINE)
    return {int(number): body for number, body in zip(parts[1::2], parts[2::2], strict=True)}


@pytest.fixture(scope="module")
def tour(demo_env: dict[str, str]) -> str:
    result = _manage(demo_env, "demo", "--no-server")
    assert result.returncode == 0, f"demo failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_the_tour_prints_every_step(tour: str) -> None:
    assert "==> migrate: applying" in tour
    assert re.search(r"audit triggers: (\d+) of \1 installed on auth\.User, shop\.", tour)
    assert "login 'admin', password 'admin'" in tour
    steps = _sections(tour)
    assert sorted(steps) == list(range(12)), sorted(steps)  # 0 is the admin user's creation
    assert "CREATE" in steps[0] and "auth.user admin" in steps[0]
    assert "password=[masked]" in steps[0]


def test_orm_writes_are_captured_and_attributed(tour: str) -> None:
    steps = _sections(tour)
    in_context = steps[1]
    for expected in (
        "CREATE",
        "shop.customer",
        "iban=[masked]",
        "iban: [masked] → [masked]",
        'note: "" → "gift wrap"',
        "DELETE",
        "context: phone order from",
    ):
        assert expected in in_context, (expected, in_context)
    assert " admin " in in_context
    request = steps[3]
    assert 'status: "new" → "paid"' in request
    assert "POST /shop/orders/" in request and "192.0.2.10" in request


def test_bulk_queryset_and_raw_sql_writes_are_captured(tour: str) -> None:
    steps = _sections(tour)
    assert steps[4].count("CREATE") == 3 and "shop.product" in steps[4]
    assert steps[5].count("UPDATE") == 3 and "price: 9.9 → 10.89" in steps[5]
    raw = steps[6]
    assert "other program: billing-cron" in raw
    assert f"role {connection.settings_dict['USER'] or ''}".strip() in raw
    assert '"paid" → "refunded"' in raw


def test_events_are_recorded(tour: str) -> None:
    steps = _sections(tour)
    assert "login SUCCESS" in steps[2]
    assert "login FAILED" in steps[7] and "203.0.113.9" in steps[7]
    assert "(DataExport)" in steps[8] and "as CSV" in steps[8]
    assert "ERROR" in steps[9] and "payment provider timed out" in steps[9]
    assert "SECURITY" in steps[10] and "198.51.100.23" in steps[10]
    assert "AUDIT_DISABLED" in steps[11]


def test_example_migrations_are_up_to_date(demo_env: dict[str, str]) -> None:
    # The example's migrations hold the rendered trigger SQL: a change to the capture code must
    # come with regenerated migrations (cd example && python manage.py makemigrations).
    result = _manage(demo_env, "makemigrations", "--check", "--dry-run", "shop", "audit_triggers")
    assert result.returncode == 0, f"example migrations are stale:\n{result.stdout}{result.stderr}"
