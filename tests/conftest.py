"""Fixtures shared by the suite: everything runs against a real PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection

from pgaudit_django.models import AuditLog


class AuditRows:
    """The audit rows written since the fixture started (tests share tables with each other)."""

    def __init__(self) -> None:
        self.since = AuditLog.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def all(self, **filters: Any) -> list[AuditLog]:
        return list(
            AuditLog.objects.filter(id__gt=self.since, **filters)
            .select_related("context")
            .order_by("id")
        )

    def captured(self, **filters: Any) -> list[AuditLog]:
        return [r for r in self.all(**filters) if r.is_captured]

    def actions(self, **filters: Any) -> list[str]:
        return [r.action for r in self.captured(**filters)]


@pytest.fixture
def audit(db: None) -> AuditRows:
    return AuditRows()


@pytest.fixture
def audit_tx(transactional_db: None) -> AuditRows:
    return AuditRows()


def dsn() -> str:
    """libpq connection string of the test database, for non-Django connections."""
    params = connection.get_connection_params()
    parts = []
    for key in ("host", "port", "user", "password", "dbname"):
        value = params.get(key) or params.get("database" if key == "dbname" else key)
        if value:
            parts.append(f"{key}={value}")
    return " ".join(parts)


class RawConnection:
    """An autocommit connection that bypasses Django entirely, like psql or another program.

    Uses whichever driver the run has (the psycopg2 run hides psycopg 3).
    """

    def __init__(self, conninfo: str, application_name: str = "raw-test") -> None:
        try:
            import psycopg

            self._conn: Any = psycopg.connect(
                conninfo, autocommit=True, application_name=application_name
            )
            self._v3 = True
        except ImportError:
            import psycopg2

            self._conn = psycopg2.connect(conninfo, application_name=application_name)
            self._conn.autocommit = True
            self._v3 = False

    def execute(self, sql: str, params: Any = None) -> None:
        with self._conn.cursor() as cursor:
            cursor.execute(sql, params)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()


def raw_connection(conninfo: str | None = None, **kwargs: Any) -> RawConnection:
    return RawConnection(conninfo or dsn(), **kwargs)


@pytest.fixture
def raw_connect() -> Iterator[Callable[..., RawConnection]]:
    opened: list[RawConnection] = []

    def connect(**kwargs: Any) -> RawConnection:
        conn = raw_connection(**kwargs)
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()
