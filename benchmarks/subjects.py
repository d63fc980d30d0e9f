"""What is measured: a copy of the benchmark model plus the audit mechanism watching it.

Every subject knows how to switch its attribution on (a user acting), how to count the audit rows
it wrote since a marker (and how many of those name that user), and which tables hold its trail
(for the storage numbers). The baseline runs with none of that, *and* without pgaudit_django's
connection wrapper: the ratio must include everything a project pays for installing the library.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models

import pgaudit_django
from pgaudit_django.db.wrapper import audit_execute_wrapper


@dataclass(frozen=True)
class Captured:
    rows: int  # audit rows written for this subject's table since the marker
    attributed: int  # of those, rows that name the acting user


def set_pgaudit_wrapper(enabled: bool) -> None:
    """Install or remove pgaudit_django's execute wrapper on the (current) default connection."""
    connection.ensure_connection()
    wrappers = connection.execute_wrappers
    if enabled and audit_execute_wrapper not in wrappers:
        wrappers.append(audit_execute_wrapper)
    elif not enabled:
        while audit_execute_wrapper in wrappers:
            wrappers.remove(audit_execute_wrapper)


def scalar_row(sql: str, params: Any = None) -> tuple[Any, ...]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    assert row is not None
    return tuple(row)


class Subject:
    key = "plain"
    title = "unaudited"
    uses_pgaudit_wrapper = False
    # Which write paths the mechanism can see at all; the rest are reported "not captured".
    signal_based = False

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    def audit_tables(self) -> list[str]:
        """Root tables holding this subject's audit rows (partitions are expanded by storage)."""
        return []

    @contextlib.contextmanager
    def acting(self, user: Any) -> Iterator[None]:
        """Everything needed for a write to be captured and attributed to ``user``."""
        set_pgaudit_wrapper(self.uses_pgaudit_wrapper)
        yield

    def marker(self) -> int:
        return 0

    def captured_since(self, marker: int, user: Any) -> Captured:
        return Captured(0, 0)


class PgauditSubject(Subject):
    key = "pgaudit"
    title = "pgaudit_django"
    uses_pgaudit_wrapper = True

    def audit_tables(self) -> list[str]:
        return ["pgaudit_auditlog"]

    @contextlib.contextmanager
    def acting(self, user: Any) -> Iterator[None]:
        set_pgaudit_wrapper(True)
        with pgaudit_django.context(user=user):
            yield

    def marker(self) -> int:
        return int(scalar_row("SELECT coalesce(max(id), 0) FROM pgaudit_auditlog")[0])

    def captured_since(self, marker: int, user: Any) -> Captured:
        ct = ContentType.objects.get_for_model(self.model)
        # "Attributed" means what the issue asks: the row and its context row both name the user.
        rows, attributed = scalar_row(
            """
            SELECT count(*),
                   count(*) FILTER (WHERE l.user_id = %(user)s AND c.user_id = %(user)s)
            FROM pgaudit_auditlog l
            LEFT JOIN pgaudit_auditcontext c ON c.id = l.context_id
            WHERE l.id > %(marker)s AND l.content_type_id = %(ct)s
              AND l.action IN ('CREATE', 'UPDATE', 'DELETE')
            """,
            {"user": user.pk, "marker": marker, "ct": ct.pk},
        )
        return Captured(int(rows), int(attributed))


class ContextOnlySubject(Subject):
    """The unaudited table written with pgaudit_django's context machinery on.

    ``pgaudit_django.context()`` active and the connection wrapper sending ``set_config`` with
    every write, but no trigger on the table: the share of the overhead paid in Python and in
    the extra ``SELECT set_config(...)``, as opposed to the share paid in the triggers.
    """

    key = "context_only"
    title = "context only"
    uses_pgaudit_wrapper = True

    @contextlib.contextmanager
    def acting(self, user: Any) -> Iterator[None]:
        set_pgaudit_wrapper(True)
        with pgaudit_django.context(user=user):
            yield


class PghistorySubject(Subject):
    """django-pghistory: one event table per model, full typed row copies, no diff."""

    def __init__(self, model: type[models.Model], key: str, title: str) -> None:
        super().__init__(model)
        self.key = key
        self.title = title
        self.event_model = apps.get_model(model._meta.app_label, f"{model.__name__}Event")

    def audit_tables(self) -> list[str]:
        return [self.event_model._meta.db_table]

    @contextlib.contextmanager
    def acting(self, user: Any) -> Iterator[None]:
        import pghistory

        set_pgaudit_wrapper(False)
        with pghistory.context(user=user.pk):
            yield

    def marker(self) -> int:
        table = self.event_model._meta.db_table
        return int(scalar_row(f'SELECT coalesce(max(pgh_id), 0) FROM "{table}"')[0])

    def captured_since(self, marker: int, user: Any) -> Captured:
        table = self.event_model._meta.db_table
        rows, attributed = scalar_row(
            f"""
            SELECT count(*), count(*) FILTER (WHERE c.metadata->>'user' = %(user)s)
            FROM "{table}" e LEFT JOIN pghistory_context c ON c.id = e.pgh_context_id
            WHERE e.pgh_id > %(marker)s
            """,
            {"user": str(user.pk), "marker": marker},
        )
        return Captured(int(rows), int(attributed))


class AuditlogSubject(Subject):
    """django-auditlog: model signals, one LogEntry (JSON of changed fields) per instance."""

    key = "auditlog"
    title = "django-auditlog"
    signal_based = True

    def audit_tables(self) -> list[str]:
        return ["auditlog_logentry"]

    @contextlib.contextmanager
    def acting(self, user: Any) -> Iterator[None]:
        from auditlog.context import set_actor

        set_pgaudit_wrapper(False)
        with set_actor(user):
            yield

    def marker(self) -> int:
        return int(scalar_row("SELECT coalesce(max(id), 0) FROM auditlog_logentry")[0])

    def captured_since(self, marker: int, user: Any) -> Captured:
        ct = ContentType.objects.get_for_model(self.model)
        rows, attributed = scalar_row(
            """
            SELECT count(*), count(*) FILTER (WHERE actor_id = %(user)s)
            FROM auditlog_logentry WHERE id > %(marker)s AND content_type_id = %(ct)s
            """,
            {"user": user.pk, "marker": marker, "ct": ct.pk},
        )
        return Captured(int(rows), int(attributed))


class SimpleHistorySubject(Subject):
    """django-simple-history: model signals, one historical row (full copy) per instance."""

    key = "simple_history"
    title = "django-simple-history"
    signal_based = True

    @property
    def history_table(self) -> str:
        history_model: Any = self.model.history.model  # type: ignore[attr-defined]
        return str(history_model._meta.db_table)

    def audit_tables(self) -> list[str]:
        return [self.history_table]

    @contextlib.contextmanager
    def acting(self, user: Any) -> Iterator[None]:
        from simple_history.models import HistoricalRecords

        set_pgaudit_wrapper(False)
        # What its HistoryRequestMiddleware does: the request (and so the user) in its context.
        HistoricalRecords.context.request = SimpleNamespace(user=user)
        try:
            yield
        finally:
            del HistoricalRecords.context.request

    def marker(self) -> int:
        return int(
            scalar_row(f'SELECT coalesce(max(history_id), 0) FROM "{self.history_table}"')[0]
        )

    def captured_since(self, marker: int, user: Any) -> Captured:
        rows, attributed = scalar_row(
            f"""
            SELECT count(*), count(*) FILTER (WHERE history_user_id = %(user)s)
            FROM "{self.history_table}" WHERE history_id > %(marker)s
            """,
            {"user": user.pk, "marker": marker},
        )
        return Captured(int(rows), int(attributed))


def build_subjects(peers: tuple[str, ...]) -> list[Subject]:
    """The baseline first, then pgaudit_django (and its context machinery alone), then peers."""
    from benchmarks.benchapp.models import Audited, Plain

    subjects: list[Subject] = [Subject(Plain), PgauditSubject(Audited), ContextOnlySubject(Plain)]
    if "pghistory" in peers:
        subjects.append(
            PghistorySubject(
                apps.get_model("pghistory_row", "Item"), "pghistory_row", "pghistory (row)"
            )
        )
        subjects.append(
            PghistorySubject(
                apps.get_model("pghistory_stmt", "Item"), "pghistory_stmt", "pghistory (statement)"
            )
        )
    if "auditlog" in peers:
        subjects.append(AuditlogSubject(apps.get_model("auditlog_peer", "Item")))
    if "simple_history" in peers:
        subjects.append(SimpleHistorySubject(apps.get_model("simplehistory_peer", "Item")))
    return subjects
