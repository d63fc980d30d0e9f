"""Retention: what is old enough to go, and removing it by whole partitions.

Two categories (``AUDIT_RETENTION``):

* ``default``: captured changes and every other AuditLog row, their contexts, and the system
  events that are not security events (ERROR, WARNING, INFO, PERFORMANCE);
* ``security``: the AuditLog actions in ``AUDIT_SECURITY_ACTIONS`` (logins, bypass and DDL
  records, retention records…), login attempts, data exports, SECURITY and MAINTENANCE system
  events. Kept at least as long as ``default``.

A month of AuditLog past the default age is detached and dropped; its security rows, if any,
are first copied into a small partition for the same month ("…_sec"), dropped in turn when the
security age passes. Contexts follow: a context partition is dropped once its period's AuditLog
rows are gone, keeping the contexts that remaining rows still point to. The event tables are
plain tables with few rows: their old rows are deleted by age.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pgaudit_django import conf
from pgaudit_django.storage.export import ExportedFile, copy_query_to_gzip, record_export
from pgaudit_django.storage.partitions import Partition, list_partitions

SECURITY_EVENT_TYPES = ("SECURITY", "MAINTENANCE")
DEFAULT_EVENT_TYPES = ("ERROR", "WARNING", "INFO", "PERFORMANCE")
# Event table -> category of its rows (SystemEvent is split by event type).
EVENT_TABLES = {
    "pgaudit_loginattempt": "security",
    "pgaudit_dataexport": "security",
    "pgaudit_systemevent": "by type",
}


@dataclass(frozen=True)
class Step:
    """One unit of removal, applied in its own transaction."""

    kind: str  # "partition" or "events"
    table: str  # the audit table (parent) or event table
    category: str  # "default" or "security"
    partition: Partition | None = None
    keep_actions: tuple[str, ...] = ()  # AuditLog rows kept past this step
    before: datetime | None = None  # events: rows older than this
    event_types: tuple[str, ...] | None = None  # events: SystemEvent types, None for all
    rows: int = 0  # partitions: planner estimate; events: exact count

    def describe(self) -> str:
        if self.kind == "partition":
            assert self.partition is not None
            what = f"drop partition {self.partition.describe()}, ~{self.rows:,} rows"
            if self.table == "pgaudit_auditlog" and self.keep_actions:
                what += " (its security rows are kept in a …_sec partition)"
            elif self.table == "pgaudit_auditcontext":
                what += " (contexts still referenced by kept rows are kept)"
            return f"[{self.category}] {what}"
        types = f" of type {', '.join(self.event_types)}" if self.event_types else ""
        assert self.before is not None
        return (
            f"[{self.category}] delete {self.rows:,} rows{types} from {self.table} "
            f"older than {self.before:%Y-%m-%d %H:%M}"
        )


@dataclass
class Plan:
    now: datetime
    cutoffs: dict[str, datetime | None]
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StepResult:
    step: Step
    summary: dict[str, Any]
    exported: ExportedFile | None


def cutoffs(now: datetime, retention: dict[str, int | None]) -> dict[str, datetime | None]:
    return {
        category: (now - timedelta(days=days) if days is not None else None)
        for category, days in retention.items()
    }


def plan(connection: Any, now: datetime | None = None) -> Plan:
    from django.utils import timezone

    settings = conf.storage()
    now = now or timezone.now()
    limits = cutoffs(now, settings.retention)
    result = Plan(now=now, cutoffs=limits)
    default_cut, security_cut = limits["default"], limits["security"]
    if default_cut is None:
        result.notes.append("AUDIT_RETENTION is not set: audit data is kept forever.")
        return result

    result.steps.extend(_event_steps(connection, default_cut, security_cut))
    partitions = list_partitions(connection)
    log_steps = _auditlog_steps(partitions, default_cut, security_cut, settings.security_actions)
    result.steps.extend(log_steps)
    result.steps.extend(_context_steps(partitions, log_steps, default_cut, security_cut))
    result.notes.extend(_default_partition_notes(connection, default_cut))
    return result


def _expired(p: Partition, cut: datetime | None) -> bool:
    return cut is not None and p.hi is not None and p.hi <= cut


def _auditlog_steps(
    partitions: list[Partition],
    default_cut: datetime,
    security_cut: datetime | None,
    security_actions: tuple[str, ...],
) -> list[Step]:
    steps = []
    for p in partitions:
        if p.parent != "pgaudit_auditlog" or p.is_default:
            continue
        if _expired(p, security_cut):
            steps.append(Step("partition", p.parent, "security", p, (), rows=p.estimated_rows))
        elif not p.security_only and _expired(p, default_cut):
            steps.append(
                Step("partition", p.parent, "default", p, security_actions, rows=p.estimated_rows)
            )
    return steps


def _context_steps(
    partitions: list[Partition],
    log_steps: list[Step],
    default_cut: datetime,
    security_cut: datetime | None,
) -> list[Step]:
    retiring = {s.partition.name for s in log_steps if s.partition is not None}
    # Change rows that stay (partitions not retired, not security-only) still need contexts.
    live_logs = [
        p
        for p in partitions
        if p.parent == "pgaudit_auditlog"
        and not p.is_default
        and not p.security_only
        and p.name not in retiring
    ]
    steps = []
    for p in partitions:
        if p.parent != "pgaudit_auditcontext" or p.is_default:
            continue
        cut = security_cut if p.security_only else default_cut
        if not _expired(p, cut):
            continue
        assert p.lo is not None and p.hi is not None
        if any(
            q.lo is not None and q.hi is not None and q.lo < p.hi and p.lo < q.hi for q in live_logs
        ):
            continue  # misaligned partitions: the overlapping AuditLog period is still there
        category = "security" if p.security_only else "default"
        steps.append(Step("partition", p.parent, category, p, rows=p.estimated_rows))
    return steps


def _event_steps(
    connection: Any, default_cut: datetime, security_cut: datetime | None
) -> list[Step]:
    wanted: list[tuple[str, str, datetime, tuple[str, ...] | None]] = []
    for table, category in EVENT_TABLES.items():
        if category == "security":
            if security_cut is not None:
                wanted.append((table, "security", security_cut, None))
        else:
            wanted.append((table, "default", default_cut, DEFAULT_EVENT_TYPES))
            if security_cut is not None:
                wanted.append((table, "security", security_cut, SECURITY_EVENT_TYPES))
    steps = []
    with connection.cursor() as cursor:
        for table, category, before, types in wanted:
            where, params = _event_filter(before, types)
            cursor.execute(f"SELECT count(*) FROM {table} WHERE {where}", params)
            count = int(cursor.fetchone()[0])
            if count:
                steps.append(Step("events", table, category, None, (), before, types, count))
    return steps


def _event_filter(before: datetime, types: tuple[str, ...] | None) -> tuple[str, list[Any]]:
    if types is None:
        return "timestamp < %s", [before]
    return "timestamp < %s AND event_type = ANY(%s)", [before, list(types)]


def _default_partition_notes(connection: Any, default_cut: datetime) -> list[str]:
    notes = []
    with connection.cursor() as cursor:
        for parent, key in (("pgaudit_auditlog", "timestamp"), ("pgaudit_auditcontext", "created")):
            cursor.execute(
                f'SELECT count(*) FROM {parent}_default WHERE "{key}" < %s', [default_cut]
            )
            count = int(cursor.fetchone()[0])
            if count:
                notes.append(
                    f"{parent}_default holds {count:,} rows older than the cutoff: "
                    "pgaudit_partitions (run first by pgaudit_retention) moves them into "
                    "partitions of their own, which a later run can drop."
                )
    return notes


# ---------------------------------------------------------------------------------------------
# Applying


DEFAULT_LOCK_TIMEOUT = "5s"


def apply_step(
    connection: Any,
    step: Step,
    *,
    export_dir: Path | None = None,
    reason: str = "",
    lock_timeout: str = DEFAULT_LOCK_TIMEOUT,
) -> StepResult:
    """Export (optionally), then remove, in one transaction; the export is a DataExport row.

    DETACH needs an ACCESS EXCLUSIVE lock on the audit table for a moment. Waiting for it
    behind a long query would make every audited write queue behind the DETACH, so the wait is
    bounded by ``lock_timeout``: past it the step fails with ``LockNotAvailable`` (SQLSTATE
    55P03), nothing is removed, and a later run retries.
    """
    from django.db import transaction

    with transaction.atomic(using=connection.alias):
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [lock_timeout])
        _attribute(connection)
        exported = _export(connection, step, export_dir) if export_dir is not None else None
        if exported is not None:
            record_export(
                exported,
                description=f"audit retention: {step.table}",
                filters=_export_filters(step),
                using=connection.alias,
            )
        summary = _remove(connection, step, reason, exported)
    return StepResult(step=step, summary=summary, exported=exported)


def _attribute(connection: Any) -> None:
    """Hand the acting context (``pgaudit_django.context(...)``) to the SQL functions.

    The connection wrapper sends it with write statements only; the retention functions are
    called with SELECT, so it is sent here, transaction-local like the wrapper's.
    """
    from pgaudit_django.attribution.payload import current_payload

    payload = current_payload()
    if payload is not None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('pgaudit_django.context', %s, true)", [payload])


def _remove(
    connection: Any, step: Step, reason: str, exported: ExportedFile | None
) -> dict[str, Any]:
    note = reason + (f" (exported to {exported.path})" if exported is not None else "")
    with connection.cursor() as cursor:
        if step.kind == "partition":
            assert step.partition is not None
            cursor.execute(
                "SELECT pgaudit_retire_partition(%s::regclass, %s, %s)",
                [step.partition.name, list(step.keep_actions) or None, note],
            )
            value = cursor.fetchone()[0]
            return json.loads(value) if isinstance(value, str) else dict(value)
        cursor.execute(
            "SELECT pgaudit_purge_events(%s::regclass, %s, %s, %s)",
            [step.table, step.before, list(step.event_types) if step.event_types else None, note],
        )
        return {"table": step.table, "deleted_rows": int(cursor.fetchone()[0])}


def _export(connection: Any, step: Step, export_dir: Path) -> ExportedFile:
    stamp = step.before or (step.partition.lo if step.partition else None)
    if step.kind == "partition":
        assert step.partition is not None
        key = "timestamp" if step.table == "pgaudit_auditlog" else "created"
        name = f"{step.partition.name}.jsonl.gz"
        return copy_query_to_gzip(
            connection,
            f'SELECT row_to_json(t) FROM "{step.partition.name}" AS t ORDER BY t."{key}", t.id',
            [],
            export_dir / name,
        )
    where, params = _event_filter(step.before, step.event_types)  # type: ignore[arg-type]
    suffix = "_".join(step.event_types).lower() if step.event_types else "all"
    name = f"{step.table}_{suffix}_before_{stamp:%Y%m%dT%H%M%S}.jsonl.gz"
    return copy_query_to_gzip(
        connection,
        f"SELECT row_to_json(t) FROM {step.table} AS t WHERE {where} ORDER BY t.timestamp, t.id",
        params,
        export_dir / name,
    )


def _export_filters(step: Step) -> dict[str, Any]:
    if step.kind == "partition":
        assert step.partition is not None and step.partition.lo and step.partition.hi
        return {
            "table": step.table,
            "partition": step.partition.name,
            "from": step.partition.lo.isoformat(),
            "to": step.partition.hi.isoformat(),
        }
    assert step.before is not None
    return {
        "table": step.table,
        "before": step.before.isoformat(),
        "event_types": list(step.event_types) if step.event_types else None,
    }
