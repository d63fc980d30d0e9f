"""Is everything that protects the audit trail in place?

Each check reads the catalogs and says what it found. ``pgaudit_verify`` prints them before its
completeness check; ``pgaudit_status`` can call :func:`checks` too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pgaudit_django import conf
from pgaudit_django.storage import testing

OK, WARNING, PROBLEM = "ok", "warning", "problem"
GUARDED_PARENTS = ("pgaudit_auditlog", "pgaudit_auditcontext")
EVENT_TABLES = ("pgaudit_loginattempt", "pgaudit_dataexport", "pgaudit_systemevent")
DEFINER_FUNCTIONS = (
    "pgaudit_context",
    "pgaudit_guard",
    "pgaudit_record_ddl",
)


@dataclass(frozen=True)
class Check:
    name: str
    level: str  # ok / warning / problem
    detail: str


def checks(connection: Any) -> list[Check]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regprocedure('pgaudit_guard()') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return [Check("storage", PROBLEM, "migration pgaudit.0003_storage is not applied")]
        return [
            _guards(cursor),
            _event_triggers(cursor),
            _definer_functions(cursor),
            _disabled_audit_triggers(cursor),
            _test_mode(cursor),
            _partitions_ahead(cursor),
            _default_partitions(cursor),
            _ownership(cursor),
        ]


def _guards(cursor: Any) -> Check:
    expected: list[tuple[str, str]] = []
    for parent in GUARDED_PARENTS:
        expected += [(parent, "pgaudit_guard_statement"), (parent, "pgaudit_guard_rows")]
        cursor.execute(
            "SELECT partition::text FROM pgaudit_partition_bounds(%s::regclass)", [parent]
        )
        for (partition,) in cursor.fetchall():
            expected += [(partition, "pgaudit_guard_rows"), (partition, "pgaudit_guard_truncate")]
    for table in EVENT_TABLES:
        expected += [(table, "pgaudit_guard_rows"), (table, "pgaudit_guard_truncate")]
    cursor.execute(
        "SELECT tgrelid::regclass::text, tgname FROM pg_trigger "
        "WHERE tgname LIKE 'pgaudit\\_guard\\_%%' AND tgenabled IN ('A', 'O')"
    )
    present = set(cursor.fetchall())
    missing = [f"{table}.{name}" for table, name in expected if (table, name) not in present]
    if missing:
        return Check("append-only guards", PROBLEM, "missing or disabled: " + ", ".join(missing))
    return Check("append-only guards", OK, f"{len(expected)} guard triggers enabled")


def _event_triggers(cursor: Any) -> Check:
    cursor.execute("SELECT pgaudit_event_triggers_installed()")
    if cursor.fetchone()[0]:
        return Check(
            "tamper detection", OK, "event triggers pgaudit_ddl_end/pgaudit_ddl_drop enabled"
        )
    return Check(
        "tamper detection",
        WARNING,
        "event triggers missing or disabled: as a superuser run "
        "SELECT pgaudit_install_event_triggers();",
    )


def _definer_functions(cursor: Any) -> Check:
    cursor.execute(
        "SELECT proname FROM pg_proc WHERE proname = ANY(%s) AND prosecdef "
        "AND EXISTS (SELECT 1 FROM unnest(proconfig) AS c WHERE c LIKE 'search\\_path=%%')",
        [list(DEFINER_FUNCTIONS)],
    )
    found = {row[0] for row in cursor.fetchall()}
    missing = sorted(set(DEFINER_FUNCTIONS) - found)
    if missing:
        return Check(
            "least privilege",
            PROBLEM,
            "not SECURITY DEFINER with a fixed search_path: " + ", ".join(missing),
        )
    return Check("least privilege", OK, "write-path functions run as the owner, fixed search_path")


def _disabled_audit_triggers(cursor: Any) -> Check:
    cursor.execute(
        "SELECT tgrelid::regclass::text || '.' || tgname FROM pg_trigger "
        "WHERE tgname LIKE 'pgaudit\\_cap\\_%%' AND tgenabled IN ('D', 'R') ORDER BY 1"
    )
    disabled = [row[0] for row in cursor.fetchall()]
    if disabled:
        return Check("capture triggers", PROBLEM, "disabled: " + ", ".join(disabled))
    return Check("capture triggers", OK, "no audit trigger is disabled")


def _test_mode(cursor: Any) -> Check:
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM pgaudit_test_mode WHERE database_name = current_database())"
    )
    if not cursor.fetchone()[0]:
        return Check("test TRUNCATE allowance", OK, "off")
    level = OK if testing.in_test_environment() else PROBLEM
    return Check(
        "test TRUNCATE allowance",
        level,
        "on (TRUNCATE of audit tables allowed: only ever right in a test database; "
        "SELECT pgaudit_allow_test_truncate(false) turns it off)",
    )


def _partitions_ahead(cursor: Any) -> Check:
    ahead = conf.storage().partition_months_ahead
    cursor.execute(
        "SELECT parent::text, max(hi) FROM pgaudit_partitions() WHERE NOT is_default GROUP BY 1"
    )
    limits = dict(cursor.fetchall())
    cursor.execute("SELECT now() + make_interval(months => 1)")
    needed = cursor.fetchone()[0]
    short = [p for p in GUARDED_PARENTS if limits.get(p) is None or limits[p] < needed]
    if short:
        return Check(
            "partitions ahead",
            WARNING,
            f"{', '.join(short)}: no partition for next month yet (writes go to the DEFAULT "
            f"partition); run manage.py pgaudit_partitions (AUDIT_PARTITION_MONTHS_AHEAD={ahead})",
        )
    until = min(limits[p] for p in GUARDED_PARENTS)
    return Check("partitions ahead", OK, f"partitions exist until {until:%Y-%m-%d}")


def _default_partitions(cursor: Any) -> Check:
    counts = {}
    for parent in GUARDED_PARENTS:
        cursor.execute(f"SELECT count(*) FROM {parent}_default")
        counts[parent] = int(cursor.fetchone()[0])
    waiting = {p: n for p, n in counts.items() if n}
    if waiting:
        detail = ", ".join(f"{p}_default: {n:,} rows" for p, n in waiting.items())
        return Check(
            "DEFAULT partitions",
            WARNING,
            detail + " (manage.py pgaudit_partitions moves them into partitions)",
        )
    return Check("DEFAULT partitions", OK, "empty")


def _ownership(cursor: Any) -> Check:
    cursor.execute(
        "SELECT pg_get_userbyid(relowner), current_user, "
        "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user) "
        "FROM pg_class WHERE oid = 'pgaudit_auditlog'::regclass"
    )
    owner, user, superuser = cursor.fetchone()
    if owner == user or superuser:
        return Check(
            "connection role",
            WARNING,
            f"this connection ({user}) {'is a superuser' if superuser else 'owns the audit tables'}"
            ": fine for migrations and maintenance; the application itself should connect as a "
            "role set up with manage.py pgaudit_grants",
        )
    return Check("connection role", OK, f"{user} is not the owner ({owner}) of the audit tables")
