"""The write workloads of issue 6: set-up (untimed), the timed operation, the rows it affects.

Every workload starts from the same table state for every subject: the table is emptied and
filled by ``INSERT … SELECT generate_series`` with ``session_replication_role = replica`` (no
trigger fires, so the set-up writes no audit rows and costs every subject the same), then
``VACUUM (ANALYZE)`` so that no subject pays for hint bits or statistics the other did not.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from benchmarks.subjects import Subject, set_pgaudit_wrapper

UPDATED = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def populate(subject: Subject, rows: int) -> None:
    """Empty the subject's table and put ``rows`` rows in it without firing any trigger."""
    set_pgaudit_wrapper(False)
    table = subject.table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(f'TRUNCATE "{table}" RESTART IDENTITY')
        if rows:
            # qty >= 0 everywhere, so "qty = -1" changes every row (a no-op would not be audited).
            cursor.execute(
                f"""
                INSERT INTO "{table}" (name, qty, price, active, updated)
                SELECT 'item ' || g, g %% 1000, (g %% 100000) / 100.0, true,
                       %s::timestamptz - g * interval '1 minute'
                FROM generate_series(1, %s) AS g
                """,
                [UPDATED, rows],
            )
    with connection.cursor() as cursor:
        cursor.execute(f'VACUUM (ANALYZE) "{table}"')


def new_objects(subject: Subject, rows: int, prefix: str) -> list[Any]:
    model = subject.model
    return [
        model(
            name=f"{prefix} {i}",
            qty=i,
            price=Decimal(i % 100000) / 100,
            active=True,
            updated=UPDATED,
        )
        for i in range(rows)
    ]


# A workload's set-up returns whatever its timed part needs; the timed part returns nothing.
Setup = Callable[[Subject, int], Any]
Timed = Callable[[Subject, int, Any], None]


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    rows: int  # default size
    quick_rows: int  # size for --quick
    target: float | None  # ratio audited/unaudited the issue asks for
    setup: Setup
    timed: Timed
    # Statement-level paths the signal-based peers cannot see at all.
    invisible_to_signals: bool = False


def _setup_empty(subject: Subject, rows: int) -> Any:
    populate(subject, 0)
    return new_objects(subject, rows, "new")


def _setup_filled(subject: Subject, rows: int) -> Any:
    populate(subject, rows)
    return None


def _setup_loaded(subject: Subject, rows: int) -> Any:
    populate(subject, rows)
    return list(subject.model._default_manager.order_by("pk"))


def _create_autocommit(subject: Subject, rows: int, objs: list[Any]) -> None:
    manager = subject.model._default_manager
    for obj in objs:
        manager.create(
            name=obj.name, qty=obj.qty, price=obj.price, active=obj.active, updated=obj.updated
        )


def _create_atomic(subject: Subject, rows: int, objs: list[Any]) -> None:
    with transaction.atomic():
        _create_autocommit(subject, rows, objs)


def _bulk_create(subject: Subject, rows: int, objs: list[Any]) -> None:
    subject.model._default_manager.bulk_create(objs)


def _queryset_update(subject: Subject, rows: int, state: Any) -> None:
    subject.model._default_manager.update(qty=-1)


def _single_saves(subject: Subject, rows: int, objs: list[Any]) -> None:
    for obj in objs:
        obj.qty = -1
        obj.save()


def _queryset_delete(subject: Subject, rows: int, state: Any) -> None:
    subject.model._default_manager.all().delete()


def _raw_update(subject: Subject, rows: int, state: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'UPDATE "{subject.table}" SET qty = qty + 1')


WORKLOADS: tuple[Workload, ...] = (
    Workload(
        "create_autocommit",
        "`create()` in autocommit",
        5_000,
        50,
        1.10,
        _setup_empty,
        _create_autocommit,
    ),
    Workload(
        "create_atomic",
        "`create()` in one `atomic()`",
        5_000,
        50,
        1.25,
        _setup_empty,
        _create_atomic,
    ),
    Workload(
        "bulk_create",
        "`bulk_create`",
        50_000,
        500,
        1.15,
        _setup_empty,
        _bulk_create,
        invisible_to_signals=True,
    ),
    Workload(
        "queryset_update",
        "`QuerySet.update()` one column",
        50_000,
        500,
        2.0,
        _setup_filled,
        _queryset_update,
        invisible_to_signals=True,
    ),
    Workload(
        "single_save",
        "single-row `save()` (autocommit)",
        2_000,
        20,
        1.10,
        _setup_loaded,
        _single_saves,
    ),
    Workload(
        "queryset_delete",
        "`QuerySet.delete()`",
        50_000,
        500,
        5.0,
        _setup_filled,
        _queryset_delete,
    ),
    Workload(
        "raw_update",
        "raw `UPDATE … SET qty = qty + 1`",
        50_000,
        500,
        2.0,
        _setup_filled,
        _raw_update,
        invisible_to_signals=True,
    ),
)
WORKLOADS_BY_KEY = {w.key: w for w in WORKLOADS}


def timed(fn: Callable[[], None]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started
