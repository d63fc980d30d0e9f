"""Completeness: does every tracked object's history chain up to its live row?

For one tracked model at a time, in SQL over that model's audit rows (window functions, one
pass each):

* chain: for each object and field, each change's ``old`` equals the previous change's
  ``new`` (ordered by audit row id, which follows the order in which the writes committed:
  two writers of one row are serialised by its row lock). CREATE stores ``old: null`` and
  DELETE ``new: null`` for every field, so a missing DELETE or CREATE breaks the chain too;
* state: the newest ``new`` of every captured field equals the live row (rendered to JSON the
  way the trigger renders it, masked fields masked), a row whose history ends in DELETE does
  not exist, and a row whose history does not end in DELETE does.

A break means a write bypassed the triggers (disabled triggers, ``session_replication_role``,
a restore, a write to another copy). Rows without any history are counted apart: they predate
tracking, or were created while capture was off. History is read from the last TRUNCATE record
of the model on (a TRUNCATE ends every object's history).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pgaudit_django.capture.spec import CaptureSpec, Column, build_spec
from pgaudit_django.capture.sql import quote_ident, quote_literal
from pgaudit_django.registry import Registration

_MAX_PAIRS = 50  # jsonb_build_object takes at most 100 arguments


@dataclass(frozen=True)
class Gap:
    object_id: str
    field: str
    previous_id: int
    audit_id: int
    previous_new: Any
    old: Any


@dataclass(frozen=True)
class StateMismatch:
    object_id: str
    kind: str  # "differs", "missing" (deleted without audit), "resurrected" (created without)
    detail: Any


@dataclass
class ModelReport:
    label: str
    table: str
    audit_rows: int = 0
    objects: int = 0
    gaps: list[Gap] = field(default_factory=list)
    gap_count: int = 0
    mismatches: list[StateMismatch] = field(default_factory=list)
    mismatch_count: int = 0
    without_history: int = 0
    sources: dict[str, int] = field(default_factory=dict)
    skipped: str = ""

    @property
    def complete(self) -> bool:
        return not self.skipped and self.gap_count == 0 and self.mismatch_count == 0


def _changes_cte() -> str:
    return """
    fields AS (
        SELECT l.object_id, l.id, f.key, f.value
        FROM pgaudit_auditlog AS l
        CROSS JOIN LATERAL jsonb_each(
            CASE WHEN jsonb_typeof(l.changes) = 'object' THEN l.changes ELSE '{}' END
        ) AS f(key, value)
        WHERE l.content_type_id = %(ct)s
          AND l.action IN ('CREATE', 'UPDATE', 'DELETE')
          AND l.id > %(since)s
    )"""


GAPS_SQL = f"""
WITH {_changes_cte()},
chained AS (
    SELECT object_id, id, key, value -> 'old' AS old,
           lag(value -> 'new') OVER w AS previous_new,
           lag(id) OVER w AS previous_id
    FROM fields
    WINDOW w AS (PARTITION BY object_id, key ORDER BY id)
)
SELECT object_id, key, previous_id, id, previous_new::text, old::text, count(*) OVER ()
FROM chained
WHERE previous_id IS NOT NULL AND old IS DISTINCT FROM previous_new
ORDER BY object_id, id
LIMIT %(limit)s
"""


def _live_value(col: Column, marker: str) -> str:
    ref = f"t.{quote_ident(col.column)}"
    if col.masked:
        return f"CASE WHEN {ref} IS NULL THEN NULL ELSE to_jsonb({quote_literal(marker)}::text) END"
    return ref


def _live_state(spec: CaptureSpec) -> str:
    pairs = [(c.attname, _live_value(c, spec.mask_marker)) for c in spec.columns]
    chunks = [pairs[i : i + _MAX_PAIRS] for i in range(0, len(pairs), _MAX_PAIRS)] or [[]]
    return " || ".join(
        "jsonb_build_object(" + ", ".join(f"{quote_literal(k)}, {v}" for k, v in chunk) + ")"
        for chunk in chunks
    )


def _state_sql(spec: CaptureSpec, pk_attname: str) -> str:
    pk = quote_literal(pk_attname)
    return f"""
WITH {_changes_cte()},
latest AS (
    SELECT DISTINCT ON (object_id, key) object_id, key, value -> 'new' AS new
    FROM fields ORDER BY object_id, key, id DESC
),
expected AS (
    SELECT object_id, jsonb_object_agg(key, new) AS state FROM latest GROUP BY object_id
),
last_action AS (
    SELECT DISTINCT ON (object_id) object_id, action
    FROM pgaudit_auditlog
    WHERE content_type_id = %(ct)s AND action IN ('CREATE', 'UPDATE', 'DELETE')
      AND id > %(since)s
    ORDER BY object_id, id DESC
),
live AS (
    SELECT t.{quote_ident(spec.pk_column)}::text AS object_id, {_live_state(spec)} AS state
    FROM {quote_ident(spec.table)} AS t
),
compared AS (
    SELECT coalesce(e.object_id, v.object_id) AS object_id,
           e.state AS expected, v.state AS live,
           (a.action = 'DELETE' OR e.state -> {pk} = 'null'::jsonb) AS deleted
    FROM expected AS e
    JOIN last_action AS a ON a.object_id = e.object_id
    FULL JOIN live AS v ON v.object_id = e.object_id
),
classified AS (
    SELECT object_id,
        CASE
            WHEN expected IS NULL THEN 'no history'
            WHEN live IS NULL AND NOT deleted THEN 'missing'
            WHEN live IS NOT NULL AND deleted THEN 'resurrected'
            WHEN live IS NULL THEN NULL
            WHEN EXISTS (SELECT 1 FROM jsonb_object_keys(expected) AS k
                         WHERE live ? k AND live -> k IS DISTINCT FROM expected -> k)
                THEN 'differs'
        END AS kind,
        (SELECT jsonb_object_agg(k, jsonb_build_object('audit', expected -> k,
                                                       'live', live -> k))
         FROM jsonb_object_keys(expected) AS k
         WHERE live ? k AND live -> k IS DISTINCT FROM expected -> k) AS detail,
        expected IS NOT NULL AS has_history
    FROM compared
)
SELECT object_id, kind, detail::text,
       count(*) FILTER (WHERE kind IN ('missing', 'resurrected', 'differs')) OVER (),
       count(*) FILTER (WHERE kind = 'no history') OVER (),
       count(*) FILTER (WHERE has_history) OVER ()
FROM classified
ORDER BY kind IN ('missing', 'resurrected', 'differs') DESC, object_id
LIMIT %(limit)s
"""


SOURCES_SQL = """
SELECT coalesce(c.source, '(no context)'), count(*)
FROM pgaudit_auditlog AS l
LEFT JOIN pgaudit_auditcontext AS c ON c.id = l.context_id
WHERE l.content_type_id = %(ct)s AND l.action IN ('CREATE', 'UPDATE', 'DELETE', 'TRUNCATE')
  AND l.id > %(since)s
GROUP BY 1 ORDER BY 1
"""


def verify_model(connection: Any, registration: Registration, *, limit: int = 20) -> ModelReport:
    import json

    from django.contrib.contenttypes.models import ContentType

    model = registration.model
    spec = build_spec(model, registration.options)
    report = ModelReport(label=registration.label, table=spec.table)
    ct = ContentType.objects.db_manager(connection.alias).get_for_model(model)
    pk_attname = model._meta.pk.attname
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(max(id), 0) FROM pgaudit_auditlog "
            "WHERE content_type_id = %s AND action = 'TRUNCATE'",
            [ct.id],
        )
        params = {"ct": ct.id, "since": cursor.fetchone()[0], "limit": limit}
        cursor.execute(
            "SELECT count(*) FROM pgaudit_auditlog WHERE content_type_id = %(ct)s "
            "AND action IN ('CREATE', 'UPDATE', 'DELETE') AND id > %(since)s",
            params,
        )
        report.audit_rows = int(cursor.fetchone()[0])

        cursor.execute(GAPS_SQL, params)
        for object_id, key, previous_id, audit_id, previous_new, old, total in cursor.fetchall():
            report.gap_count = int(total)
            report.gaps.append(
                Gap(
                    object_id,
                    key,
                    previous_id,
                    audit_id,
                    _load(json, previous_new),
                    _load(json, old),
                )
            )

        cursor.execute(_state_sql(spec, pk_attname), params)
        for object_id, kind, detail, broken, orphans, with_history in cursor.fetchall():
            report.mismatch_count = int(broken)
            report.without_history = int(orphans)
            report.objects = int(with_history)
            if kind in ("missing", "resurrected", "differs"):
                report.mismatches.append(StateMismatch(object_id, kind, _load(json, detail)))

        cursor.execute(SOURCES_SQL, params)
        report.sources = {source: int(n) for source, n in cursor.fetchall()}
    return report


def _load(json: Any, text: str | None) -> Any:
    return None if text is None else json.loads(text)


# Context sources a reviewer looks at: writes without application attribution.
FLAGGED_SOURCES = {
    "app": "the application's role outside any request or context() (scripts, shells, raw SQL)",
    "database": "a session that sent no context at all (psql, cron SQL, another program)",
    "invalid": "a context PostgreSQL could not parse",
}


def flagged_writes(connection: Any, days: int) -> dict[str, int]:
    """Captured rows of the last ``days`` days per flagged context source."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.source, count(*)
            FROM pgaudit_auditcontext AS c
            JOIN pgaudit_auditlog AS l ON l.context_id = c.id
            WHERE c.source IN ('app', 'database', 'invalid')
              AND c.created >= now() - make_interval(days => %s)
              AND l.timestamp >= now() - make_interval(days => %s) - interval '1 day'
              AND l.action IN ('CREATE', 'UPDATE', 'DELETE', 'TRUNCATE')
            GROUP BY 1 ORDER BY 1
            """,
            [days, days],
        )
        return {source: int(n) for source, n in cursor.fetchall()}
