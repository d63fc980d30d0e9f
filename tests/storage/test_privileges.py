"""Least privilege, with a real unprivileged LOGIN role connecting on its own.

The role holds what ``manage.py pgaudit_grants`` prints: it can write a tracked table and
have the write audited, append events, resolve a system event, and read the trail; it cannot
change, delete or truncate audit rows, write context rows itself, or run maintenance.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from pgaudit_django.storage import grants, install
from tests.storage.conftest import scalar, sqlstate


def _fails(conn, statement: str, params=None) -> str:
    """The statement must fail with insufficient_privilege; returns the message."""
    with pytest.raises(Exception) as caught, conn.cursor() as cur:
        cur.execute(statement, params)
    assert sqlstate(caught.value) == "42501", caught.value
    return str(caught.value)


def test_app_role_writes_are_audited(app_role):
    conn = app_role.connect()
    with conn.cursor() as cur:
        # Without any context: what psql or another program would do.
        cur.execute(
            "INSERT INTO testapp_customer (name, email, iban) VALUES ('Raw', '', '') RETURNING id"
        )
        raw_id = cur.fetchone()[0]
        # With the context the Django connection wrapper sends outside a request.
        cur.execute("BEGIN")
        cur.execute("""SELECT set_config('pgaudit_django.context', '{"v":1,"src":"app"}', true)""")
        cur.execute("UPDATE testapp_customer SET name = 'Renamed' WHERE id = %s", [raw_id])
        cur.execute("COMMIT")
        # The role can read the trail, and sees how each write was attributed.
        cur.execute(
            "SELECT l.action, c.source, c.db_role FROM pgaudit_auditlog l "
            "JOIN pgaudit_auditcontext c ON c.id = l.context_id "
            "WHERE l.object_id = %s AND l.action IN ('CREATE', 'UPDATE') ORDER BY l.id",
            [str(raw_id)],
        )
        rows = cur.fetchall()
    assert rows == [("CREATE", "database", app_role.name), ("UPDATE", "app", app_role.name)]


def test_app_role_cannot_change_or_remove_audit_rows(app_role):
    conn = app_role.connect()
    with conn.cursor() as cur:
        cur.execute("INSERT INTO testapp_customer (name, email, iban) VALUES ('X', '', '')")
        cur.execute("SELECT max(id) FROM pgaudit_auditlog")
        last = cur.fetchone()[0]
    assert "permission denied" in _fails(
        conn, "UPDATE pgaudit_auditlog SET action = 'FORGED' WHERE id = %s", [last]
    )
    assert "permission denied" in _fails(conn, "DELETE FROM pgaudit_auditlog WHERE id = %s", [last])
    assert "permission denied" in _fails(conn, "TRUNCATE pgaudit_auditlog")
    assert "permission denied" in _fails(conn, "TRUNCATE pgaudit_auditcontext")
    assert "permission denied" in _fails(conn, "DELETE FROM pgaudit_loginattempt")
    # Context rows come from pgaudit_context() (SECURITY DEFINER) only.
    assert "permission denied" in _fails(
        conn, "INSERT INTO pgaudit_auditcontext (source) VALUES ('request')"
    )
    # Partitions are not reachable directly.
    partition = scalar(
        "SELECT partition::text FROM pgaudit_partitions() WHERE NOT is_default LIMIT 1"
    )
    assert "permission denied" in _fails(conn, f"DELETE FROM {partition}")
    assert "permission denied" in _fails(conn, "SELECT * FROM pgaudit_maintenance")
    assert scalar("SELECT count(*) FROM pgaudit_auditlog WHERE id = %s", [last]) == 1


def test_app_role_cannot_run_maintenance(app_role):
    conn = app_role.connect()
    assert "permission denied" in _fails(conn, "SELECT pgaudit_begin_maintenance('let me in')")
    assert "permission denied" in _fails(conn, "SELECT pgaudit_allow_test_truncate(true)")
    assert "permission denied" in _fails(conn, "SELECT * FROM pgaudit_ensure_partitions(1)")
    assert "permission denied" in _fails(
        conn, "SELECT pgaudit_retire_partition('pgaudit_auditlog_default'::regclass)"
    )
    assert "permission denied" in _fails(
        conn, "SELECT pgaudit_purge_events('pgaudit_loginattempt'::regclass, now())"
    )
    assert "permission denied" in _fails(conn, "SELECT pgaudit_install_event_triggers()")
    # Reading the partition list is harmless and allowed.
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pgaudit_partitions()")
        assert cur.fetchone()[0] >= 2


def test_app_role_event_paths(app_role):
    conn = app_role.connect()
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO pgaudit_systemevent (timestamp, event_type, title, description, module,"
            " function_name, error_code, stack_trace, username, user_agent, path, resolved,"
            " resolved_by_username, resolution_notes)"
            " VALUES (now(), 'ERROR', 'boom', '', '', '', '', '', '', '', '', false, '', '')"
            " RETURNING id, context_id"
        )
        event_id, context_id = cur.fetchone()
        assert context_id is not None  # filled through pgaudit_context() (SECURITY DEFINER)
        # mark_resolved() updates these columns only: allowed by column privileges.
        cur.execute(
            "UPDATE pgaudit_systemevent SET resolved = true, resolved_at = now(),"
            " resolution_notes = 'fixed' WHERE id = %s",
            [event_id],
        )
    assert "permission denied" in _fails(
        conn, "UPDATE pgaudit_systemevent SET title = 'nothing happened' WHERE id = %s", [event_id]
    )


def test_write_path_functions_are_security_definer_with_fixed_search_path(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proname, prosecdef, proconfig FROM pg_proc WHERE proname = ANY(%s) ORDER BY 1",
            [["pgaudit_context", "pgaudit_guard", "pgaudit_record_ddl"]],
        )
        rows = cursor.fetchall()
    assert len(rows) == 3
    for name, definer, config in rows:
        assert definer, name
        assert any(
            c.startswith("search_path=pg_catalog,") and c.endswith("pg_temp") for c in config
        ), (
            name,
            config,
        )


def test_grants_command_prints_and_applies(app_role, capsys):
    call_command("pgaudit_grants", app_role.name)
    printed = capsys.readouterr().out
    assert "GRANT INSERT ON pgaudit_auditlog" in printed
    assert "UPDATE (resolved, resolved_at" in printed
    assert "DELETE" not in printed.replace("REVOKE ALL", "")
    call_command("pgaudit_grants", app_role.name, "--apply")
    assert "Applied" in capsys.readouterr().out
    assert scalar("SELECT has_table_privilege(%s, 'pgaudit_auditlog', 'INSERT')", [app_role.name])
    assert not scalar(
        "SELECT has_table_privilege(%s, 'pgaudit_auditlog', 'UPDATE')", [app_role.name]
    )
    assert not scalar(
        "SELECT has_function_privilege(%s, 'pgaudit_begin_maintenance(text)', 'EXECUTE')",
        [app_role.name],
    )


def test_grants_warn_about_owners_and_superusers(db):
    me = connection.settings_dict["USER"]
    notes = grants.warnings_for(me, grants.role_facts(connection, me))
    assert any("superuser" in n for n in notes)
    assert any("owns the audit tables" in n for n in notes)
    assert grants.warnings_for("nobody", grants.role_facts(connection, "no_such_role_x"))[
        0
    ].startswith("role 'nobody' does not exist")


def test_event_trigger_installation_needs_a_superuser(app_role, capsys):
    conn = app_role.connect()

    class RoleConnection:  # what install_event_triggers() needs of a Django connection
        def cursor(self):
            return conn.cursor()

    assert install.install_event_triggers(RoleConnection()) is False
    assert "SELECT pgaudit_install_event_triggers();" in capsys.readouterr().err
