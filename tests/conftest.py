"""Fixtures shared by the suite: everything runs against a real PostgreSQL."""

from __future__ import annotations

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


@pytest.fixture
def raw_connect() -> Iterator[Callable[..., Any]]:
    """Open psycopg (3) connections that bypass Django entirely, like psql or another program."""
    import psycopg

    opened: list[Any] = []

    def connect(**kwargs: Any) -> Any:
        conn = psycopg.connect(dsn(), autocommit=True, **kwargs)
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()
