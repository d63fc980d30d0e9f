"""``--large``: the audit table at 10 million rows (not for CI: it takes several minutes).

The rows are made by ``INSERT … SELECT generate_series`` in time order over the last 12 months,
with a skewed spread over content types, objects (a few hot objects get most changes), users
and contexts (about 5 rows per transaction), the mix of actions a real trail has, and
realistic ``changes`` documents. The secondary indexes are dropped during the fill and rebuilt
afterwards, the way a restore does it: building a btree by sorting is many times faster than
10 million random insertions, and the resulting indexes are the same.

Monthly partitions: if migration 0003's ``pgaudit_ensure_partitions(months_ahead)`` exists it is
called, and the past months get partitions too (what a year of monthly maintenance leaves
behind); otherwise every row lands in the DEFAULT partition, which is reported.

Then: one object's history (newest 50), the admin changelist (through the test client as a
superuser when ``pgaudit_django.admin`` registers ``AuditLog``, else the equivalent ORM query),
``get_audit_summary(days=30)`` when ``pgaudit_django.utils`` has it, and the write workloads
again, to compare their ratios with the empty-table run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection

from benchmarks.runner import Options, Results, bench_user, log, run_writes
from benchmarks.subjects import Subject, set_pgaudit_wrapper
from benchmarks.workloads import UPDATED

ROWS_PER_CONTEXT = 5
HOT_OBJECT_ROWS = 500  # history rows of the object whose newest 50 are read
QUERY_TARGETS_MS = {"history": 5.0, "changelist": 300.0, "summary": 300.0}


@dataclass
class LargeResult:
    rows: int
    fill_seconds: float = 0.0
    index_seconds: float = 0.0
    partitions: list[tuple[str, int]] = field(default_factory=list)
    total_bytes: int = 0
    queries: dict[str, list[float]] = field(default_factory=dict)
    query_titles: dict[str, str] = field(default_factory=dict)
    query_errors: dict[str, str] = field(default_factory=dict)
    plans: dict[str, str] = field(default_factory=dict)
    empty: Results | None = None
    large: Results | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "fill_seconds": self.fill_seconds,
            "index_seconds": self.index_seconds,
            "partitions": self.partitions,
            "total_bytes": self.total_bytes,
            "queries": self.queries,
            "query_errors": self.query_errors,
            "plans": self.plans,
        }


def _execute(sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description else []


def _function_exists(name: str) -> bool:
    return bool(_execute("SELECT 1 FROM pg_proc WHERE proname = %s", [name]))


def _prepare_partitions() -> str:
    """Monthly partitions for the last 12 months when the project has monthly partitioning.

    Returns how the partitions were made, for the report.
    """
    if _function_exists("pgaudit_ensure_partitions_between"):
        # What a year of monthly maintenance (cron or migrate) would have left behind.
        _execute(
            "SELECT count(*) FROM pgaudit_ensure_partitions_between("
            "now() - interval '12 months', now() + interval '1 month')"
        )
        return "monthly partitions from pgaudit_ensure_partitions_between()"
    if _function_exists("pgaudit_ensure_partitions"):
        _execute("SELECT count(*) FROM pgaudit_ensure_partitions(1)")
        return "pgaudit_ensure_partitions(1) (older rows in DEFAULT)"
    return "no partitioning functions: every row in the DEFAULT partition"


def _secondary_indexes() -> list[tuple[str, str]]:
    """(name, definition) of the audit table's partitioned indexes, except the primary key."""
    # pg_get_indexdef() of a partitioned index says "ON ONLY": recreated as is it would cover
    # the parent alone, not the partitions.
    return [
        (name, definition.replace(" ON ONLY ", " ON ", 1))
        for name, definition in _execute(
            """
            SELECT i.relname, pg_get_indexdef(i.oid)
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            WHERE x.indrelid = 'pgaudit_auditlog'::regclass AND NOT x.indisprimary
            """
        )
    ]


def fill(rows: int, hot_ct: int, hot_object: str) -> tuple[float, float]:
    """Fill the audit (and context) tables; returns (fill seconds, index rebuild seconds)."""
    set_pgaudit_wrapper(False)
    log(f"  {_prepare_partitions()}")
    content_types = [ct for (ct,) in _execute("SELECT id FROM django_content_type ORDER BY id")]
    indexes = _secondary_indexes()
    # Start from empty tables: the ids below are given explicitly.
    _execute("TRUNCATE pgaudit_auditlog, pgaudit_auditcontext")
    started = time.monotonic()
    _execute("SET maintenance_work_mem = '512MB'")
    _execute("SET session_replication_role = replica")  # no trigger: rows carry their context
    try:
        for _, definition in indexes:
            name = definition.split(" INDEX ", 1)[1].split(" ON ", 1)[0]
            _execute(f"DROP INDEX {name}")
        contexts = rows // ROWS_PER_CONTEXT + 1
        _execute(
            """
            INSERT INTO pgaudit_auditcontext (id, created, transaction_id, source, db_role,
                                              user_id, user_label, request_id, method, path)
            SELECT g, now() - interval '365 days' + (g::float8 / %(n)s) * interval '365 days',
                   1000 + g, CASE WHEN g %% 10 = 0 THEN 'app' ELSE 'request' END, 'app',
                   CASE WHEN g %% 10 = 0 THEN NULL ELSE 1 + (random() ^ 2 * 500)::int END,
                   '', CASE WHEN g %% 10 = 0 THEN '' ELSE md5(g::text) END,
                   'POST', '/orders/' || (g %% 5000) || '/'
            FROM generate_series(1, %(n)s) AS g
            """,
            {"n": contexts},
        )
        chunk = 1_000_000
        for first in range(1, rows + 1, chunk):
            last = min(rows, first + chunk - 1)
            _execute(
                """
                INSERT INTO pgaudit_auditlog (id, timestamp, action, content_type_id, object_id,
                                              changes, context_id, user_id)
                SELECT g, ts, action, ct, obj,
                       CASE action
                         WHEN 'UPDATE' THEN jsonb_build_object('qty', jsonb_build_object(
                             'old', g %% 1000, 'new', g %% 1000 + 1))
                         ELSE jsonb_build_object(
                             'id', jsonb_build_object('old', NULL, 'new', obj::int),
                             'name', jsonb_build_object('old', NULL, 'new', 'item ' || obj),
                             'qty', jsonb_build_object('old', NULL, 'new', g %% 1000),
                             'active', jsonb_build_object('old', NULL, 'new', true))
                       END,
                       c, u
                FROM (
                    SELECT g,
                           now() - interval '365 days'
                               + (g::float8 / %(total)s) * interval '365 days' AS ts,
                           CASE WHEN r < 0.2 THEN 'CREATE' WHEN r < 0.9 THEN 'UPDATE'
                                ELSE 'DELETE' END AS action,
                           (%(cts)s::int[])[1 + floor(random() ^ 2 * %(nct)s)::int] AS ct,
                           (floor(random() ^ 3 * 200000)::int + 2)::text AS obj,
                           g / %(per)s + 1 AS c,
                           CASE WHEN g %% 10 = 0 THEN NULL
                                ELSE 1 + (random() ^ 2 * 500)::int END AS u
                    FROM (SELECT g, random() AS r FROM generate_series(%(first)s, %(last)s) g) s
                ) rows
                """,
                {
                    "first": first,
                    "last": last,
                    "total": rows,
                    "cts": content_types,
                    "nct": len(content_types),
                    "per": ROWS_PER_CONTEXT,
                },
            )
            log(f"  filled {last:,}/{rows:,} audit rows ({time.monotonic() - started:.0f} s)")
        # The hot object: HOT_OBJECT_ROWS changes spread over the year (object "1" is never
        # produced by the random spread above, which starts at 2).
        _execute(
            """
            INSERT INTO pgaudit_auditlog (id, timestamp, action, content_type_id, object_id,
                                          changes, context_id, user_id)
            SELECT %(base)s + g,
                   now() - interval '365 days' + (g::float8 / %(n)s) * interval '364 days',
                   'UPDATE', %(ct)s, %(obj)s,
                   jsonb_build_object('qty', jsonb_build_object('old', g, 'new', g + 1)),
                   g, 1
            FROM generate_series(1, %(n)s) AS g
            """,
            {"base": rows, "n": HOT_OBJECT_ROWS, "ct": hot_ct, "obj": hot_object},
        )
    finally:
        fill_seconds = time.monotonic() - started
        started = time.monotonic()
        _execute("RESET session_replication_role")
        _execute("SET max_parallel_maintenance_workers = 2")
        for _, definition in indexes:
            _execute(definition)
        index_seconds = time.monotonic() - started
    for table in ("pgaudit_auditlog", "pgaudit_auditcontext"):
        _execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )
    _execute("VACUUM (ANALYZE) pgaudit_auditlog")
    _execute("VACUUM (ANALYZE) pgaudit_auditcontext")
    return fill_seconds, index_seconds


def _timed_runs(fn: Callable[[], Any], runs: int) -> list[float]:
    fn()  # warm the caches: the targets are about a page a user opens, not a cold restart
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def measure_queries(result: LargeResult, hot: Any, user: Any) -> None:
    from django.contrib import admin
    from django.test import Client

    from pgaudit_django.models import AuditLog

    def history() -> None:
        rows = list(AuditLog.objects.for_object(hot)[:50])
        assert len(rows) == 50, len(rows)

    result.query_titles["history"] = "one object's history, newest 50 (`for_object(obj)[:50]`)"
    result.queries["history"] = _timed_runs(history, 30)
    result.plans["history"] = AuditLog.objects.for_object(hot)[:50].explain(analyze=True)

    newest = AuditLog.objects.select_related("user", "context", "content_type").order_by(
        "-timestamp", "-id"
    )
    result.query_titles["changelist_orm"] = (
        "newest 100 with user/context/content type (the changelist's ORM query)"
    )
    result.queries["changelist_orm"] = _timed_runs(lambda: list(newest[:100]), 10)
    result.plans["changelist_orm"] = newest[:100].explain(analyze=True)

    result.query_titles["changelist"] = "admin changelist, superuser, test client"
    if admin.site.is_registered(AuditLog):
        client = Client()
        client.force_login(user)
        url = f"/admin/{AuditLog._meta.app_label}/{AuditLog._meta.model_name}/"

        def changelist() -> None:
            response = client.get(url)
            assert response.status_code == 200, response.status_code

        try:
            result.queries["changelist"] = _timed_runs(changelist, 5)
        except Exception as exc:
            result.query_errors["changelist"] = f"{type(exc).__name__}: {exc}"[:160]
    else:
        result.query_errors["changelist"] = "pgaudit_django.admin does not register AuditLog yet"

    result.query_titles["summary"] = "`get_audit_summary(days=30)`"
    try:
        from pgaudit_django.utils import get_audit_summary
    except ImportError as exc:
        result.query_errors["summary"] = f"pgaudit_django.utils.get_audit_summary missing ({exc})"
    else:
        try:
            result.queries["summary"] = _timed_runs(lambda: get_audit_summary(days=30), 5)
        except Exception as exc:
            result.query_errors["summary"] = f"{type(exc).__name__}: {exc}"[:160]


def run_large(subjects: list[Subject], options: Options, rows: int, empty: Results) -> LargeResult:
    from benchmarks.benchapp.models import Audited

    result = LargeResult(rows=rows, empty=empty)
    user = bench_user()
    set_pgaudit_wrapper(False)
    Audited._default_manager.all().delete()
    hot = Audited._default_manager.create(name="hot", qty=1, price=1, active=True, updated=UPDATED)
    hot_ct = ContentType.objects.get_for_model(Audited).pk
    log(f"large: filling the audit table with {rows:,} rows")
    result.fill_seconds, result.index_seconds = fill(rows, hot_ct, str(hot.pk))
    result.partitions = [
        (name, int(count))
        for name, count in _execute(
            """
            SELECT c.relname, c.reltuples::bigint
            FROM pg_partition_tree('pgaudit_auditlog') t JOIN pg_class c ON c.oid = t.relid
            WHERE t.isleaf ORDER BY c.relname
            """
        )
    ]
    result.total_bytes = int(
        _execute(
            "SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('pgaudit_auditlog')"
        )[0][0]
    )
    log(f"large: filled in {result.fill_seconds:.0f} s, indexes in {result.index_seconds:.0f} s")
    measure_queries(result, hot, user)
    for key, samples in result.queries.items():
        log(f"  {key}: median {statistics.median(samples) * 1000:.1f} ms")
    log("large: the write workloads again, audit table full")
    ours = [s for s in subjects if s.key in ("plain", "pgaudit")]
    large_options = Options(**{**options.__dict__, "empty_audit_each_rep": False})
    result.large = Results()
    for rep in range(options.reps):
        run_writes(ours, user, large_options, result.large, rep)
    return result


def render_large(out: list[str], result: LargeResult) -> None:
    from benchmarks.report import paired_ratios, ratio_cell, spread

    add = out.append
    add(f"### Large audit table: {result.rows:,} rows")
    add("")
    in_default = sum(n for name, n in result.partitions if name.endswith("_default"))
    add(
        f"Filled in {result.fill_seconds:.0f} s plus {result.index_seconds:.0f} s of index "
        f"builds; {result.total_bytes / 2**30:.1f} GiB with indexes; "
        f"{len(result.partitions)} partition(s), {in_default:,} rows in the DEFAULT partition."
    )
    add("")
    add("| query | ms, median (min–max) | target | |")
    add("|---|---:|---:|---|")
    for key in ("history", "changelist", "changelist_orm", "summary"):
        title = result.query_titles.get(key, key)
        target = QUERY_TARGETS_MS.get(key, QUERY_TARGETS_MS["changelist"])
        if key in result.query_errors:
            add(f"| {title} | n/a ({result.query_errors[key]}) | ≤ {target:.0f} ms | |")
            continue
        samples = result.queries.get(key, [])
        if not samples:
            continue
        med = statistics.median(samples) * 1000
        verdict = "met" if med <= target else "**missed**"
        add(f"| {title} | {spread(samples)} | ≤ {target:.0f} ms | {verdict} |")
    add("")
    if result.empty is not None and result.large is not None:
        add("Write ratios (pgaudit_django / unaudited) with an empty audit table and a full one:")
        add("")
        add("| workload | empty | full |")
        add("|---|---:|---:|")
        workloads = list(dict.fromkeys(key for key, _ in result.large.samples))
        for key in workloads:
            cells = []
            for res in (result.empty, result.large):
                ratios = paired_ratios(
                    res.samples.get((key, "pgaudit"), []), res.samples.get((key, "plain"), [])
                )
                cells.append(ratio_cell(ratios))
            base = result.large.samples.get((key, "plain"), [])
            add(
                f"| {key} ({spread([s.seconds for s in base])} ms unaudited) | "
                + " | ".join(cells)
                + " |"
            )
        add("")
