"""Partitions of the audit tables: what exists, and creating them ahead of time.

The work is done by SQL functions (sql/0003_partitions.sql) so that cron, ``migrate`` and this
module share one implementation; this module calls them and shapes their results.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pgaudit_django import conf

PARENTS = ("pgaudit_auditlog", "pgaudit_auditcontext")


@dataclass(frozen=True)
class Partition:
    parent: str
    name: str
    lo: datetime | None  # None for the DEFAULT partition
    hi: datetime | None
    is_default: bool
    security_only: bool  # a remainder kept by retention: only security rows are left in it
    estimated_rows: int  # planner statistics: 0 until the table was analysed
    total_bytes: int

    def describe(self) -> str:
        if self.is_default:
            return f"{self.name} (DEFAULT)"
        assert self.lo is not None and self.hi is not None
        span = f"[{self.lo:%Y-%m-%d}, {self.hi:%Y-%m-%d})"
        extra = ", security rows only" if self.security_only else ""
        return f"{self.name} {span}{extra}"


@dataclass(frozen=True)
class Created:
    name: str
    moved_rows: int  # rows moved out of the DEFAULT partition into it


def installed(connection: Any) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regprocedure('pgaudit_ensure_partitions(integer, text)')")
        return cursor.fetchone()[0] is not None


def list_partitions(connection: Any) -> list[Partition]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT parent::text, partition::text, lo, hi, is_default, security_only, "
            "estimated_rows, total_bytes FROM pgaudit_partitions()"
        )
        return [Partition(*row) for row in cursor.fetchall()]


def default_partition_rows(connection: Any) -> dict[str, int]:
    """Exact row counts of the DEFAULT partitions (they are meant to stay small or empty)."""
    counts = {}
    with connection.cursor() as cursor:
        for parent in PARENTS:
            cursor.execute(f"SELECT count(*) FROM {parent}_default")
            counts[parent] = int(cursor.fetchone()[0])
    return counts


def ensure(
    connection: Any, months_ahead: int | None = None, unit: str | None = None
) -> list[Created]:
    """Partitions for this period and the next ``months_ahead`` months; rows in DEFAULT moved."""
    settings = conf.storage()
    months = settings.partition_months_ahead if months_ahead is None else months_ahead
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT partition_name, moved_rows FROM pgaudit_ensure_partitions(%s, %s)",
            [months, unit or settings.partition_interval],
        )
        return [Created(name, int(moved)) for name, moved in cursor.fetchall()]


def ensure_between(
    connection: Any, start: datetime, end: datetime, unit: str | None = None
) -> list[Created]:
    """Partitions for every period from ``start`` to ``end`` (e.g. before importing old data)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT partition_name, moved_rows FROM pgaudit_ensure_partitions_between(%s, %s, %s)",
            [start, end, unit or conf.storage().partition_interval],
        )
        return [Created(name, int(moved)) for name, moved in cursor.fetchall()]
