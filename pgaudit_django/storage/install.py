"""Installs the SQL of migration 0003: guards, partition and retention functions, tamper detection.

The SQL files are versioned artefacts (never edited after a release); this module only fills in
the schema and decides whether the event trigger can be created (it needs a superuser).
"""

from __future__ import annotations

import sys
from typing import Any

from pgaudit_django.capture.sql import quote_ident
from pgaudit_django.sql import SQL_DIR

SQL_FILES = ("0003_storage.sql", "0003_partitions.sql", "0003_tamper.sql")

MANUAL_EVENT_TRIGGER_STEP = (
    "pgaudit: the event trigger that records DDL on audit objects (tamper detection) was not "
    "installed because the migrating role is not a superuser. Run once, as a superuser:\n"
    "    SELECT pgaudit_install_event_triggers();\n"
    "(docs/operations.md, 'Tamper detection')."
)


def render(name: str, schema: str) -> str:
    return (SQL_DIR / name).read_text().replace("{schema}", quote_ident(schema))


def current_schema(cursor: Any) -> str:
    cursor.execute("SELECT current_schema()")
    schema = cursor.fetchone()[0]
    if not schema:
        raise RuntimeError("pgaudit: no current schema (is search_path empty?)")
    return str(schema)


def is_superuser(cursor: Any) -> bool:
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    row = cursor.fetchone()
    return bool(row and row[0])


def install_sql(schema_editor: Any) -> None:
    with schema_editor.connection.cursor() as cursor:
        schema = current_schema(cursor)
    for name in SQL_FILES:
        # params=None: the SQL holds LIKE patterns with "%", which must not be interpolated.
        schema_editor.execute(render(name, schema), None)


def install_event_triggers(connection: Any, *, quiet: bool = False) -> bool:
    """Create the event triggers when the connected role may; else say how, and return False."""
    with connection.cursor() as cursor:
        if is_superuser(cursor):
            cursor.execute("SELECT pgaudit_install_event_triggers()")
            return True
    if not quiet:
        sys.stderr.write(MANUAL_EVENT_TRIGGER_STEP + "\n")
    return False


UNINSTALL_SQL = """
DROP FUNCTION IF EXISTS pgaudit_record_ddl() CASCADE;
DROP FUNCTION IF EXISTS pgaudit_install_event_triggers(), pgaudit_event_triggers_installed();
DROP FUNCTION IF EXISTS
    pgaudit_purge_events(regclass, timestamptz, text[], text),
    pgaudit_retire_partition(regclass, text[], text),
    pgaudit_ensure_partitions(integer, text),
    pgaudit_ensure_partitions_between(timestamptz, timestamptz, text),
    pgaudit_create_partition(regclass, timestamptz, text),
    pgaudit_new_partition_table(regclass, text, timestamptz, timestamptz),
    pgaudit_attach_partition(regclass, text, timestamptz, timestamptz),
    pgaudit_partitions(),
    pgaudit_partition_bounds(regclass),
    pgaudit_partition_key(regclass),
    pgaudit_partition_name(regclass, timestamptz, text),
    pgaudit_period_end(timestamptz, text),
    pgaudit_period_start(timestamptz, text);
-- CASCADE: every guard trigger, including those on partitions, depends on pgaudit_guard().
DROP FUNCTION IF EXISTS pgaudit_guard() CASCADE;
DROP FUNCTION IF EXISTS pgaudit_allow_test_truncate(boolean), pgaudit_begin_maintenance(text),
    pgaudit_end_maintenance(), pgaudit_maintenance_token(text), pgaudit_maintenance_allowed();
DROP TABLE IF EXISTS pgaudit_maintenance, pgaudit_test_mode;
DROP INDEX IF EXISTS pgaudit_log_event_idx, pgaudit_log_time_brin, pgaudit_ctx_unattributed_idx;
"""


def uninstall_sql(schema_editor: Any) -> None:
    """Reverse of install_sql. Partitions and their rows stay: unapplying keeps the data."""
    schema_editor.execute(UNINSTALL_SQL, None)
