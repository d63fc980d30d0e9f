"""Bytes per audit row, three ways (see docs/performance.md, "Method").

* ``tuple``: ``avg(pg_column_size(row))`` of the new audit rows: the row as PostgreSQL stores it
  (23-byte header padded to 24 with its null bitmap, aligned columns), nothing else.
* ``heap``: growth of the table files (main fork of every partition, plus TOAST) divided by the
  rows written. Adds the 4-byte line pointer per row, page headers and the unused tail of pages.
* ``total``: growth of ``pg_total_relation_size`` (heap, TOAST, every index) per row: what the
  disk really pays.

The audit tables are emptied first, so the sizes grow from a known state; 5,000 rows keep the
8 kB page granularity below 2 bytes per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from benchmarks.subjects import PgauditSubject, Subject, set_pgaudit_wrapper
from benchmarks.workloads import new_objects, populate


@dataclass(frozen=True)
class Sizes:
    heap: int
    total: int


@dataclass(frozen=True)
class RowBytes:
    rows: int
    tuple: float
    heap: float
    total: float


@dataclass(frozen=True)
class StorageResult:
    insert: RowBytes
    update: RowBytes


def relation_sizes(roots: list[str]) -> Sizes:
    heap = total = 0
    with connection.cursor() as cursor:
        for root in roots:
            # The leaves of a partitioned table; a plain table is its own (only) leaf.
            cursor.execute(
                """
                WITH leaves AS (
                    SELECT relid FROM pg_partition_tree(%(root)s::regclass) WHERE isleaf
                    UNION ALL
                    SELECT %(root)s::regclass
                    WHERE NOT EXISTS (SELECT FROM pg_partition_tree(%(root)s::regclass))
                )
                SELECT coalesce(sum(pg_relation_size(c.oid)
                                    + CASE WHEN c.reltoastrelid <> 0
                                           THEN pg_relation_size(c.reltoastrelid) ELSE 0 END), 0),
                       coalesce(sum(pg_total_relation_size(c.oid)), 0)
                FROM leaves JOIN pg_class c ON c.oid = leaves.relid
                """,
                {"root": root},
            )
            row = cursor.fetchone()
            assert row is not None
            heap += int(row[0])
            total += int(row[1])
    return Sizes(heap, total)


def empty_audit_tables(subject: Subject) -> None:
    """TRUNCATE the subject's audit tables (replica role: an append-only guard must not fire)."""
    tables = subject.audit_tables()
    if not tables:
        return
    set_pgaudit_wrapper(False)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables))
    if isinstance(subject, PgauditSubject):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("TRUNCATE pgaudit_auditcontext")


def _avg_tuple(subject: Subject, marker: int) -> float:
    (table,) = subject.audit_tables()
    id_column = {
        "pgaudit_auditlog": "id",
        "auditlog_logentry": "id",
    }.get(table, "history_id" if table.startswith("simplehistory") else "pgh_id")
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT coalesce(avg(pg_column_size(t.*)), 0) FROM "{table}" t WHERE {id_column} > %s',
            [marker],
        )
        row = cursor.fetchone()
    assert row is not None
    return float(row[0])


def _measure(subject: Subject, user: Any, action: Any) -> RowBytes:
    roots = subject.audit_tables()
    before = relation_sizes(roots)
    marker = subject.marker()
    with subject.acting(user):
        action()
    captured = subject.captured_since(marker, user)
    after = relation_sizes(roots)
    rows = captured.rows
    if rows == 0:
        return RowBytes(0, 0.0, 0.0, 0.0)
    return RowBytes(
        rows,
        _avg_tuple(subject, marker),
        (after.heap - before.heap) / rows,
        (after.total - before.total) / rows,
    )


def measure_storage(subject: Subject, user: Any, rows: int) -> StorageResult:
    """Bytes per audited INSERT (create() in one atomic) and per one-field UPDATE (save())."""
    populate(subject, 0)
    empty_audit_tables(subject)
    objs = new_objects(subject, rows, "stored")
    model = subject.model

    def insert() -> None:
        with transaction.atomic():
            for obj in objs:
                obj.save()

    insert_bytes = _measure(subject, user, insert)
    loaded = list(model._default_manager.order_by("pk"))

    def update() -> None:
        with transaction.atomic():
            for obj in loaded:
                obj.qty = -1
                obj.save()

    update_bytes = _measure(subject, user, update)
    return StorageResult(insert_bytes, update_bytes)
