"""Fixtures of the storage tests: guard switches, raw connections, a real unprivileged role."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from django.db import connection

from pgaudit_django.storage import grants
from tests.conftest import dsn


def scalar(sql: str, params: Any = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def no_test_truncate(db: None) -> None:
    """Take away the test database's TRUNCATE allowance for this test (rolled back after)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pgaudit_allow_test_truncate(false)")


def connect_raw(conninfo: str) -> Any:
    """An autocommit DB-API connection outside Django, with whichever driver the run has
    (the psycopg2 run hides psycopg 3)."""
    try:
        import psycopg
    except ImportError:
        import psycopg2

        conn = psycopg2.connect(conninfo)
        conn.autocommit = True
        return conn
    return psycopg.connect(conninfo, autocommit=True)


def sqlstate(exc: BaseException) -> str | None:
    return getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)


@pytest.fixture
def superuser_connect() -> Iterator[Callable[[], Any]]:
    """Connections as the test server's superuser, outside Django (like psql)."""
    opened: list[Any] = []

    def connect() -> Any:
        conn = connect_raw(dsn())
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()


class AppRole:
    """A LOGIN role without superuser or ownership, set up with ``pgaudit_grants``."""

    def __init__(self, name: str, admin: Any) -> None:
        self.name = name
        self._admin = admin
        self._opened: list[Any] = []

    def connect(self) -> Any:
        params = connection.get_connection_params()
        conninfo = " ".join(
            [
                f"host={params.get('host') or '127.0.0.1'}",
                f"port={params.get('port') or 5432}",
                f"dbname={params.get('dbname') or params.get('database')}",
                f"user={self.name}",
                "password=pgaudit-test-role",
            ]
        )
        conn = connect_raw(conninfo)
        self._opened.append(conn)
        return conn

    def close(self) -> None:
        for conn in self._opened:
            conn.close()


@pytest.fixture
def app_role(transactional_db: None, superuser_connect: Callable[..., Any]) -> Iterator[AppRole]:
    """A real application role, committed (other sessions must see it), dropped afterwards.

    It gets what an application needs on its own tables (here testapp_customer and the
    content types) plus exactly the audit privileges ``pgaudit_grants`` prints.
    """
    admin = superuser_connect()
    name = f"pgaudit_app_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'pgaudit-test-role'")
        cur.execute(f"GRANT CONNECT ON DATABASE {connection.settings_dict['NAME']} TO {name}")
        cur.execute(f"GRANT USAGE ON SCHEMA public TO {name}")
        cur.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON testapp_customer TO {name}")
        cur.execute(f"GRANT SELECT ON django_content_type TO {name}")
        with connection.cursor() as django_cursor:
            django_cursor.execute("SELECT partition::text FROM pgaudit_partitions()")
            partitions = [row[0] for row in django_cursor.fetchall()]
        for statement in grants.statements(name, partitions):
            if not statement.startswith("--"):
                cur.execute(statement)
    role = AppRole(name, admin)
    try:
        yield role
    finally:
        role.close()
        with admin.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                [name],
            )
            cur.execute(f"DROP OWNED BY {name}")
            cur.execute(f"DROP ROLE {name}")
