"""A connection ``execute_wrapper`` that hands the acting context to the audit triggers.

For each *write* statement (``INSERT``, ``UPDATE``, ``DELETE``, ``MERGE``, ``WITH``, ``COPY``,
``TRUNCATE``, ``CALL``, ``DO``) it sends ``SELECT set_config('pgaudit_django.context', <json>,
  true)``
in the same round trip and the same transaction. Reads are passed through untouched.

How it is sent depends on the driver, because each refuses something else:

* psycopg2, and psycopg 3 with client-side binding (Django's default): the ``set_config`` is
  prefixed to the statement as a second statement in one query string, with the JSON as an
  escaped literal holding no ``%`` (never as a parameter, so the user's own parameters and a
  literal ``%`` in SQL without parameters are left alone). psycopg 3 positions the cursor on
  the first result, so the wrapper advances it to the user's statement.
* psycopg 3 with ``server_side_binding`` (several statements in one prepared statement are
  refused) and psycopg 3 ``executemany``: both statements are sent in one *pipeline*, which
  PostgreSQL runs as one implicit transaction even in autocommit mode.

``set_config(..., true)`` is transaction-local: in autocommit mode it lasts for exactly the
statement it travels with; inside ``atomic()`` it is set again on every write, so a rolled-back
savepoint cannot leave a stale value behind. A pooler in transaction mode (PgBouncer) never sees
a session-level setting, so nothing can cross to another client.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from pgaudit_django.attribution.payload import current_payload

WRITE_KEYWORDS = frozenset(
    {"INSERT", "UPDATE", "DELETE", "MERGE", "WITH", "COPY", "TRUNCATE", "CALL", "DO"}
)
_KEYWORD = re.compile(r"[A-Za-z]+")
_SET_CONTEXT_PARAM = "SELECT set_config('pgaudit_django.context', %s, true)"

PREFIX = "prefix"  # psycopg2: one query string, the driver returns the last result
PREFIX_NEXTSET = "prefix_nextset"  # psycopg 3 client-side binding
PIPELINE = "pipeline"  # psycopg 3 server-side binding


def first_keyword(sql: str) -> str:
    """The statement's first keyword, skipping whitespace, comments and opening parentheses."""
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch.isspace() or ch == "(":
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            if end < 0:
                return ""
            i = end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end < 0:
                return ""
            i = end + 2
        else:
            break
    match = _KEYWORD.match(sql, i)
    return match.group(0).upper() if match else ""


def is_write(sql: str) -> bool:
    return first_keyword(sql) in WRITE_KEYWORDS


def sql_literal(value: str) -> str:
    """An escape-string literal, correct whatever ``standard_conforming_strings`` is."""
    if "\x00" in value:
        raise ValueError("a context payload cannot contain NUL characters")
    return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def strategy_for(connection: BaseDatabaseWrapper) -> str:
    cached = getattr(connection, "_pgaudit_strategy", None)
    if cached is not None:
        return str(cached)
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if not is_psycopg3:
        strategy = PREFIX
    elif connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"):
        strategy = PIPELINE
    else:
        strategy = PREFIX_NEXTSET
    connection._pgaudit_strategy = strategy  # type: ignore[attr-defined]
    return strategy


def _as_text(sql: Any, connection: BaseDatabaseWrapper) -> str | None:
    if isinstance(sql, str):
        return sql
    if isinstance(sql, bytes):
        return sql.decode()
    as_string = getattr(sql, "as_string", None)  # psycopg Composable
    if callable(as_string):
        return str(as_string(connection.connection))
    return None


Executor = Callable[[Any, Any, bool, dict[str, Any]], Any]


def audit_execute_wrapper(
    execute: Executor, sql: Any, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    connection: BaseDatabaseWrapper = context["connection"]
    text = _as_text(sql, connection)
    if text is None or not is_write(text):
        return execute(sql, params, many, context)
    payload = current_payload()
    if payload is None:  # re-entered while resolving the user: a read, or nothing to attribute
        return execute(sql, params, many, context)

    strategy = strategy_for(connection)
    if strategy == PIPELINE or (many and strategy == PREFIX_NEXTSET):
        return _execute_in_pipeline(execute, sql, params, many, context, payload)

    # "%" may only appear inside JSON strings, where "\\u0025" means the same: the prefix then
    # holds no "%" at all and is safe whether or not the driver (or another wrapper, such as
    # pgtrigger.ignore's) interpolates parameters over the whole string.
    literal = sql_literal(payload.replace("%", "\\u0025"))
    prefix = f"SELECT set_config('pgaudit_django.context', {literal}, true); "
    result = execute(prefix + text, params, many, context)
    if strategy == PREFIX_NEXTSET:
        context["cursor"].cursor.nextset()
    return result


def _execute_in_pipeline(
    execute: Executor, sql: Any, params: Any, many: bool, context: dict[str, Any], payload: str
) -> Any:
    connection = context["connection"]
    raw_connection = connection.connection
    # The set_config runs on a cursor of its own: on the caller's cursor its result would count
    # in the caller's rowcount after executemany() (4 instead of 3 for three one-row UPDATEs)
    # and could be what a later fetch*() returns. The pipeline still sends both statements in
    # one round trip and one implicit transaction.
    # Errors surface when the pipeline syncs, outside Django's executor: translate them the
    # way Django would (psycopg.IntegrityError -> django.db.IntegrityError).
    with connection.wrap_database_errors, raw_connection.pipeline():
        with raw_connection.cursor() as own_cursor:
            own_cursor.execute(_SET_CONTEXT_PARAM, [payload])
        return execute(sql, params, many, context)


def install(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor != "postgresql":
        return
    if audit_execute_wrapper not in connection.execute_wrappers:
        connection.execute_wrappers.append(audit_execute_wrapper)
