"""The audit tables refuse UPDATE, DELETE and TRUNCATE: through the ORM, the admin, raw SQL, psql.

The test user is the server's superuser and owner of every table: the guards hold against it
too (only the retention path, a recorded maintenance token, or the test database's TRUNCATE
allowance get through).
"""

from __future__ import annotations

import subprocess

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core import mail
from django.db import DatabaseError, connection, transaction
from django.test import override_settings
from django.urls import path

from pgaudit_django.models import AuditContext, AuditLog, DataExport, LoginAttempt, SystemEvent
from pgaudit_django.storage import testing
from tests.conftest import dsn
from tests.storage.conftest import scalar
from tests.testapp.models import Customer

REFUSED = "audit records are append-only"


def _refused(func, *args, **kwargs) -> str:
    """Run ``func`` in a savepoint; return the database error it must raise."""
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        func(*args, **kwargs)
    return str(caught.value)


def _sql(statement: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.fixture
def entry(db) -> AuditLog:
    Customer.objects.create(name="Ada")
    return AuditLog.objects.filter(action="CREATE").latest("id")


# --- ORM ------------------------------------------------------------------------------------


def test_orm_save_of_an_audit_row_is_refused(entry):
    entry.object_repr = "forged"
    assert REFUSED in _refused(entry.save)
    entry.refresh_from_db()
    assert entry.object_repr != "forged"


def test_orm_queryset_update_and_delete_are_refused(entry):
    assert REFUSED in _refused(AuditLog.objects.filter(pk=entry.pk).update, action="FORGED")
    assert REFUSED in _refused(AuditLog.objects.filter(pk=entry.pk).delete)
    assert REFUSED in _refused(entry.delete)
    assert AuditLog.objects.filter(pk=entry.pk, action="CREATE").exists()


def test_a_statement_matching_no_row_is_refused_too(db):
    # Statement-level guard: a probe that touches nothing is still an attempt.
    assert REFUSED in _refused(AuditLog.objects.filter(pk=-1).update, action="X")
    assert REFUSED in _refused(AuditContext.objects.filter(pk=-1).delete)


def test_context_rows_are_append_only(entry):
    ctx = entry.context
    assert ctx is not None
    assert REFUSED in _refused(AuditContext.objects.filter(pk=ctx.pk).update, user_label="x")
    assert REFUSED in _refused(AuditContext.objects.filter(pk=ctx.pk).delete)


# --- raw SQL ----------------------------------------------------------------------------------


def test_raw_sql_on_a_partition_is_refused(entry, no_test_truncate):
    partition = scalar(
        "SELECT tableoid::regclass::text FROM pgaudit_auditlog WHERE id = %s", [entry.pk]
    )
    assert partition != "pgaudit_auditlog"
    assert REFUSED in _refused(
        _sql, f"UPDATE {partition} SET action = 'X' WHERE id = %s", [entry.pk]
    )
    assert REFUSED in _refused(_sql, f"DELETE FROM {partition} WHERE id = %s", [entry.pk])
    assert REFUSED in _refused(_sql, f"TRUNCATE {partition}")
    assert REFUSED in _refused(_sql, "TRUNCATE pgaudit_auditlog_default")
    assert REFUSED in _refused(_sql, "TRUNCATE pgaudit_auditlog")
    assert REFUSED in _refused(_sql, "TRUNCATE pgaudit_auditcontext CASCADE")
    assert REFUSED in _refused(_sql, "TRUNCATE pgaudit_loginattempt")
    assert AuditLog.objects.filter(pk=entry.pk).exists()


def test_session_replication_role_does_not_switch_the_guards_off(entry):
    # The usual way for a superuser to skip triggers wholesale; the guards are ENABLE ALWAYS.
    def attempt():
        _sql("SET LOCAL session_replication_role = replica")
        _sql("DELETE FROM pgaudit_auditlog WHERE id = %s", [entry.pk])

    assert REFUSED in _refused(attempt)


def test_setting_a_variable_opens_nothing(entry):
    def attempt():
        for name in ("pgaudit.maintenance", "pgaudit.allow", "pgaudit_django.context_cache"):
            _sql("SELECT set_config(%s, 'on', true)", [name])
        _sql("DELETE FROM pgaudit_auditlog WHERE id = %s", [entry.pk])

    assert REFUSED in _refused(attempt)


# --- psql -------------------------------------------------------------------------------------


def test_psql_session_is_refused(transactional_db):
    Customer.objects.create(name="Grace")
    entry_id = AuditLog.objects.latest("id").pk
    script = (
        "\\set ON_ERROR_STOP 0\n"
        "BEGIN;\n"
        "SELECT pgaudit_allow_test_truncate(false);\n"
        f"UPDATE pgaudit_auditlog SET action = 'FORGED' WHERE id = {entry_id};\n"
        "ROLLBACK;\n"
        f"DELETE FROM pgaudit_auditlog WHERE id = {entry_id};\n"
        "BEGIN;\n"
        "SELECT pgaudit_allow_test_truncate(false);\n"
        "TRUNCATE pgaudit_auditlog;\n"
        "ROLLBACK;\n"
    )
    done = subprocess.run(
        ["psql", dsn(), "-X", "-q"], input=script, capture_output=True, text=True, timeout=60
    )
    refusals = [line for line in done.stderr.splitlines() if REFUSED in line]
    assert len(refusals) == 3, done.stderr
    assert AuditLog.objects.filter(pk=entry_id, action="CREATE").exists()


# --- the admin --------------------------------------------------------------------------------


class PermissiveAuditLogAdmin(admin.ModelAdmin):
    """What a misconfigured admin would look like: the database must still say no."""

    def has_delete_permission(self, request, obj=None):
        return True

    def has_change_permission(self, request, obj=None):
        return True


careless_site = admin.AdminSite(name="careless")
careless_site.register(AuditLog, PermissiveAuditLogAdmin)
urlpatterns = [path("careless/", careless_site.urls)]


@override_settings(ROOT_URLCONF=__name__)
def test_admin_delete_and_change_are_refused_by_the_database(client, entry):
    su = User.objects.create_superuser("root-admin", "r@example.com", "pw")
    client.force_login(su)
    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
        client.post(f"/careless/pgaudit/auditlog/{entry.pk}/delete/", {"post": "yes"})
    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
        client.post(
            "/careless/pgaudit/auditlog/",
            {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
        )
    assert AuditLog.objects.filter(pk=entry.pk).exists()


# --- event tables: the allowed columns, nothing else -------------------------------------------


def test_system_event_resolution_may_change_nothing_else(db):
    event = SystemEvent.objects.create(event_type="ERROR", title="disk full")
    event.mark_resolved(notes="freed space")
    event.refresh_from_db()
    assert event.resolved and event.resolution_notes == "freed space"
    assert REFUSED in _refused(SystemEvent.objects.filter(pk=event.pk).update, title="nothing")
    assert REFUSED in _refused(
        SystemEvent.objects.filter(pk=event.pk).update, resolved=False, description="x"
    )
    assert REFUSED in _refused(event.delete)


def test_data_export_may_count_downloads_only(db):
    export = DataExport.objects.create(export_type="users", file_format="CSV", record_count=3)
    export.record_download()
    export.refresh_from_db()
    assert export.download_count == 1 and export.last_downloaded is not None
    assert REFUSED in _refused(DataExport.objects.filter(pk=export.pk).update, record_count=0)
    assert REFUSED in _refused(export.delete)


def test_login_attempts_never_change(db):
    attempt = LoginAttempt.objects.create(username="eve", status="FAILED")
    assert REFUSED in _refused(LoginAttempt.objects.filter(pk=attempt.pk).update, status="SUCCESS")
    assert REFUSED in _refused(attempt.delete)


# --- the doors that exist, and what they leave behind -------------------------------------------


def test_maintenance_token_opens_one_transaction_and_is_recorded(transactional_db):
    Customer.objects.create(name="Ada")
    entry = AuditLog.objects.filter(action="CREATE").latest("id")
    with transaction.atomic():  # a real transaction here (transactional_db)
        _sql("SELECT pgaudit_begin_maintenance('erasure request #42')")
        AuditLog.objects.filter(pk=entry.pk).update(object_repr="[erased]")
    record = AuditLog.objects.filter(action="AUDIT_MAINTENANCE").latest("id")
    assert record.changes["reason"] == "erasure request #42"
    assert record.changes["session_user"] == connection.settings_dict["USER"]
    # The token died with its transaction.
    assert scalar("SELECT pgaudit_maintenance_allowed()") is False
    assert REFUSED in _refused(AuditLog.objects.filter(pk=entry.pk).update, object_repr="again")


def test_maintenance_needs_a_reason(db):
    with pytest.raises(DatabaseError, match="needs a reason"), transaction.atomic():
        _sql("SELECT pgaudit_begin_maintenance('  ')")


def test_test_database_allows_truncate_and_nothing_else(entry):
    # Set by migration 0003 while pytest-django created this database.
    assert testing.test_truncate_allowed(connection)
    with transaction.atomic():
        _sql("TRUNCATE pgaudit_auditlog, pgaudit_auditcontext")
        assert AuditLog.objects.count() == 0
        transaction.set_rollback(True)
    assert REFUSED in _refused(AuditLog.objects.filter(pk=entry.pk).delete)


def test_the_allowance_needs_a_test_environment(settings, monkeypatch):
    settings.AUDIT_ALLOW_TRUNCATE_FOR_TESTS = True
    assert testing.wanted()
    monkeypatch.delattr(mail, "outbox")  # what a production process looks like
    assert not testing.wanted()
    settings.AUDIT_ALLOW_TRUNCATE_FOR_TESTS = False
    monkeypatch.setattr(mail, "outbox", [], raising=False)
    assert not testing.wanted()


def test_sync_follows_the_setting(db, settings):
    settings.AUDIT_ALLOW_TRUNCATE_FOR_TESTS = False
    testing.sync(connection)
    assert not testing.test_truncate_allowed(connection)
    assert REFUSED in _refused(_sql, "TRUNCATE pgaudit_systemevent")
    settings.AUDIT_ALLOW_TRUNCATE_FOR_TESTS = True
    testing.sync(connection)
    assert testing.test_truncate_allowed(connection)


def test_library_maintenance_never_cancels_a_dbas_token(transactional_db):
    from pgaudit_django.storage import partitions
    from tests.storage.conftest import utc

    Customer.objects.create(name="to erase")
    entry = AuditLog.objects.filter(action="CREATE").latest("id")
    with transaction.atomic():
        _sql("SELECT pgaudit_begin_maintenance('erasure with a partition job in between')")
        partitions.ensure_between(connection, utc(2013, 1, 1), utc(2013, 1, 1))
        AuditLog.objects.filter(pk=entry.pk).update(object_repr="[erased]")
    assert AuditLog.objects.get(pk=entry.pk).object_repr == "[erased]"
