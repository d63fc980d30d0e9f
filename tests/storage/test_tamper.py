"""Tamper detection: DDL that could switch auditing off is written to the trail, and never fails."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from pgaudit_django.models import AuditLog
from pgaudit_django.storage import integrity
from tests.storage.conftest import scalar


def _ddl(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


def _recorded(since: int) -> list[AuditLog]:
    return list(AuditLog.objects.filter(id__gt=since, action="AUDIT_DDL").order_by("id"))


@pytest.fixture
def since(db) -> int:
    return AuditLog.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _audit_trigger(table: str, op: str = "insert") -> str:
    return scalar(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname LIKE %s",
        [table, f"pgaudit_cap_{op[:3]}%"],
    )


def test_event_triggers_are_installed_by_the_migration(db):
    assert scalar("SELECT pgaudit_event_triggers_installed()") is True
    assert (
        scalar(
            "SELECT string_agg(evtenabled::text, '') FROM pg_event_trigger "
            "WHERE evtname LIKE 'pgaudit%%'"
        )
        == "AA"
    )


def test_disable_trigger_on_a_tracked_table(since):
    _ddl("ALTER TABLE testapp_customer DISABLE TRIGGER ALL")
    (row,) = _recorded(since)
    assert row.table_name == "testapp_customer"
    assert row.changes["statement"] == "ALTER TABLE testapp_customer DISABLE TRIGGER ALL"
    assert row.changes["session_user"] == connection.settings_dict["USER"]
    assert row.changes["maintenance"] is False
    (obj,) = row.changes["objects"]
    assert obj["kind"] == "tracked table"
    assert _audit_trigger("testapp_customer") in obj["disabled_audit_triggers"]
    assert row.context is not None and row.context.db_role == connection.settings_dict["USER"]
    # Turning them back on is not tampering: nothing more is written.
    _ddl("ALTER TABLE testapp_customer ENABLE TRIGGER ALL")
    assert len(_recorded(since)) == 1


def test_disabling_one_audit_trigger_and_replica_mode_trigger(since):
    trigger = _audit_trigger("testapp_invoice", "update")
    _ddl(f"ALTER TABLE testapp_invoice DISABLE TRIGGER {trigger}")
    _ddl(f"ALTER TABLE testapp_invoice ENABLE REPLICA TRIGGER {trigger}")
    rows = _recorded(since)
    assert len(rows) == 2
    assert [r.changes["objects"][0]["disabled_audit_triggers"] for r in rows] == [
        [trigger],
        [trigger],
    ]


def test_untracked_tables_are_not_reported(since):
    _ddl("ALTER TABLE testapp_untracked DISABLE TRIGGER ALL")
    _ddl("ALTER TABLE testapp_customer ADD COLUMN scratch integer")  # ordinary schema change
    assert _recorded(since) == []


def test_dropping_or_replacing_audit_triggers_and_functions(since):
    trigger = _audit_trigger("testapp_customer", "delete")
    _ddl(f"DROP TRIGGER {trigger} ON testapp_customer")
    _ddl(
        "CREATE OR REPLACE FUNCTION pgaudit_content_type(p_app_label text, p_model text) "
        "RETURNS integer LANGUAGE sql STABLE AS $$ SELECT NULL::integer $$"
    )
    _ddl("DROP FUNCTION pgaudit_fill_context() CASCADE")
    rows = _recorded(since)
    kinds = [(o["kind"], o["name"]) for r in rows for o in r.changes["objects"]]
    assert ("trigger", trigger) in kinds
    assert ("function", "pgaudit_content_type") in kinds
    assert ("function", "pgaudit_fill_context") in kinds
    assert ("trigger", "pgaudit_fill_context") in kinds  # dropped by the CASCADE


def test_altering_the_audit_tables(since):
    _ddl("ALTER TABLE pgaudit_auditlog DISABLE TRIGGER pgaudit_guard_rows")
    _ddl("GRANT UPDATE ON pgaudit_auditlog TO PUBLIC")
    partition = scalar(
        "SELECT partition::text FROM pgaudit_partitions() "
        "WHERE parent = 'pgaudit_auditlog'::regclass AND NOT is_default ORDER BY lo DESC LIMIT 1"
    )  # the furthest ahead: the records of this test are in the current month's partition
    _ddl(f"ALTER TABLE pgaudit_auditlog DETACH PARTITION {partition}")
    _ddl(f"DROP TABLE {partition}")
    rows = _recorded(since)
    assert [r.changes["command"] for r in rows] == [
        "ALTER TABLE",
        "GRANT",
        "ALTER TABLE",
        "DROP TABLE",
    ]
    assert rows[1].changes["objects"][0]["names"] == ["pgaudit_auditlog"]
    assert rows[3].changes["objects"][0]["name"] == partition
    assert not any(r.changes["maintenance"] for r in rows)  # not the retention path


def test_recording_never_breaks_ddl(since):
    # Make every insert into the audit log fail; the DDL must still succeed, with a warning.
    _ddl(
        "ALTER TABLE pgaudit_auditlog ADD CONSTRAINT no_ddl_rows "
        "CHECK (action <> 'AUDIT_DDL') NOT VALID"
    )
    with transaction.atomic():
        _ddl("ALTER TABLE testapp_customer DISABLE TRIGGER ALL")
    assert (
        scalar(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'testapp_customer'::regclass "
            "AND tgname LIKE 'pgaudit_cap_%%' AND tgenabled = 'D'"
        )
        == 4
    )
    # Neither the ADD CONSTRAINT (itself DDL on an audit table) nor the DISABLE could be
    # written: both statements succeeded anyway (a WARNING and a server log line remain).
    assert _recorded(since) == []


def test_integrity_checks_see_tampering(db):
    levels = {c.name: c.level for c in integrity.checks(connection)}
    assert levels["append-only guards"] == integrity.OK
    assert levels["tamper detection"] == integrity.OK
    assert levels["least privilege"] == integrity.OK
    assert levels["capture triggers"] == integrity.OK
    partition = scalar(
        "SELECT partition::text FROM pgaudit_partitions() WHERE NOT is_default LIMIT 1"
    )
    _ddl(f"DROP TRIGGER pgaudit_guard_truncate ON {partition}")
    _ddl("ALTER EVENT TRIGGER pgaudit_ddl_end DISABLE")
    _ddl("ALTER FUNCTION pgaudit_context() SECURITY INVOKER")
    _ddl("ALTER TABLE testapp_code DISABLE TRIGGER USER")
    found = {c.name: c for c in integrity.checks(connection)}
    assert found["append-only guards"].level == integrity.PROBLEM
    assert f"{partition}.pgaudit_guard_truncate" in found["append-only guards"].detail
    assert found["tamper detection"].level == integrity.WARNING
    assert "pgaudit_context" in found["least privilege"].detail
    assert "testapp_code.pgaudit_cap_ins_testapp_code_" in found["capture triggers"].detail


def test_migrations_are_reversible_and_keep_the_data(transactional_db):
    from django.core.management import call_command

    from tests.testapp.models import Customer

    Customer.objects.create(name="before")
    partitions_before = scalar("SELECT count(*) FROM pgaudit_partitions()")
    call_command("migrate", "pgaudit", "0002", verbosity=0)
    try:
        assert scalar("SELECT to_regprocedure('pgaudit_guard()')") is None
        assert scalar("SELECT count(*) FROM pg_event_trigger WHERE evtname LIKE 'pgaudit%%'") == 0
        assert scalar("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pgaudit_guard%%'") == 0
        # pgaudit_context() stays SECURITY DEFINER: migration 0001 creates it so (it writes
        # context rows the application role may not write).
        assert scalar("SELECT prosecdef FROM pg_proc WHERE proname = 'pgaudit_context'")
        # Partitions are data: they stay.
        assert scalar(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'pgaudit_auditlog'::regclass"
        ) * 2 == (partitions_before)
        assert AuditLog.objects.filter(action="CREATE").exists()
    finally:
        # Every app: trigger migrations depend on pgaudit's, so going back to 0002 also
        # unapplied the apps whose triggers were written after 0003.
        call_command("migrate", verbosity=0)
    assert scalar("SELECT pgaudit_event_triggers_installed()") is True
    levels = {c.name: c.level for c in integrity.checks(connection)}
    assert levels["append-only guards"] == integrity.OK


def test_partition_maintenance_is_marked_as_such(since):
    from pgaudit_django.storage import partitions
    from tests.storage.conftest import utc

    partitions.ensure_between(connection, utc(2014, 1, 1), utc(2014, 1, 1))
    rows = _recorded(since)
    # Only the two ATTACHes; adding the guard to the new partitions is not reported.
    assert [(r.changes["command"], r.table_name) for r in rows] == [
        ("ALTER TABLE", "pgaudit_auditlog"),
        ("ALTER TABLE", "pgaudit_auditcontext"),
    ]
    assert all(r.changes["maintenance"] for r in rows)
