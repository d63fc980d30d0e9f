"""Completeness: every bypassed write shows up as a gap, and a clean history shows none."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.db import connection

from pgaudit_django import registry
from pgaudit_django.storage import verify
from tests.testapp.models import Code, Customer


def _report(model) -> verify.ModelReport:
    return verify.verify_model(connection, registry.get_registration(model))


def _bypassing(statement: str, params=None) -> None:
    """A write the triggers never see (the table owner disabling them: audit triggers are
    ENABLE ALWAYS, so session_replication_role = replica no longer skips them)."""
    table = re.search(r"(?:UPDATE|FROM|INTO) (\w+)", statement).group(1)  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending trigger events
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(statement, params)
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def test_a_clean_history_is_complete(db):
    a = Customer.objects.create(name="Ada", email="a@x", iban="DE00")
    b = Customer.objects.create(name="Bob")
    a.name, a.iban = "Ada L.", "FR00"
    a.save()
    Customer.objects.filter(pk=b.pk).update(email="b@x")
    b.delete()
    Customer.objects.bulk_create([Customer(name=f"bulk {i}") for i in range(3)])
    report = _report(Customer)
    assert report.complete, (report.gaps, report.mismatches)
    assert report.objects == 5 and report.audit_rows == 8 and report.without_history == 0


def test_a_bypassed_update_breaks_the_chain_and_the_state(db):
    c = Customer.objects.create(name="Ada")
    _bypassing("UPDATE testapp_customer SET name = 'Eve' WHERE id = %s", [c.pk])
    report = _report(Customer)
    assert not report.complete
    (mismatch,) = report.mismatches
    assert (mismatch.object_id, mismatch.kind) == (str(c.pk), "differs")
    assert mismatch.detail == {"name": {"audit": "Ada", "live": "Eve"}}
    # The next audited write reveals the gap in the chain too.
    Customer.objects.filter(pk=c.pk).update(name="Grace")
    (gap,) = _report(Customer).gaps
    assert (gap.object_id, gap.field, gap.previous_new, gap.old) == (
        str(c.pk),
        "name",
        "Ada",
        "Eve",
    )


def test_bypassed_delete_and_insert(db):
    gone = Customer.objects.create(name="gone")
    _bypassing("DELETE FROM testapp_customer WHERE id = %s", [gone.pk])
    _bypassing("INSERT INTO testapp_customer (name, email, iban) VALUES ('ghost', '', '')")
    report = _report(Customer)
    assert [(m.object_id, m.kind) for m in report.mismatches] == [(str(gone.pk), "missing")]
    assert report.without_history == 1  # a row nobody saw being created


def test_recreated_without_audit_and_natural_keys(db):
    Code.objects.create(code="A1", label="first")
    Code.objects.filter(code="A1").delete()
    _bypassing("INSERT INTO testapp_code (code, label) VALUES ('A1', 'back')")
    # A primary key change is two linked entries, not a gap.
    Code.objects.create(code="B1", label="x")
    Code.objects.filter(code="B1").update(code="B2")
    report = _report(Code)
    assert [(m.object_id, m.kind) for m in report.mismatches] == [("A1", "resurrected")]
    assert report.gaps == []


def test_masked_fields_compare_masked(db):
    c = Customer.objects.create(name="M", iban="DE89370400440532013000")
    c.iban = "FR1420041010050500013M02606"
    c.save()
    # The live value is masked the way the trigger masks it before comparing, so a masked
    # field is no false gap; and a change between two non-empty values cannot be seen (the
    # trail never held the values: docs/operations.md).
    _bypassing("UPDATE testapp_customer SET iban = 'XX00' WHERE id = %s", [c.pk])
    assert _report(Customer).complete


def test_truncate_ends_histories(db):
    Customer.objects.create(name="before truncate")
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE testapp_customer CASCADE")  # captured as TRUNCATE
    Customer.objects.create(name="after")
    report = _report(Customer)
    assert report.complete and report.objects == 1


def test_command_reports_gaps_and_flagged_writes(db, capsys):
    c = Customer.objects.create(name="Ada")
    _bypassing("UPDATE testapp_customer SET name = 'Eve' WHERE id = %s", [c.pk])
    with connection.cursor() as cursor:  # the app's connection, no request, no context()
        cursor.execute("UPDATE testapp_customer SET email = 'raw@x' WHERE id = %s", [c.pk])
    with pytest.raises(SystemExit) as exited:
        call_command("pgaudit_verify", "--model", "testapp.Customer", "--fail")
    assert exited.value.code == 1
    out = capsys.readouterr().out
    assert "Storage integrity" in out and "append-only guards" in out
    assert "app: 2" in out  # the create and the raw write, both outside any context()
    assert "GAP testapp.Customer" in out
    assert f"object {c.pk}: differs" in out
    call_command("pgaudit_verify", "--model", "testapp.Invoice", "--skip-integrity")
    assert "OK  testapp.Invoice" in capsys.readouterr().out


def test_flagged_writes_distinguish_the_app_from_a_dba(transactional_db, superuser_connect):
    Customer.objects.create(name="in a script")  # no request, no context(): source "app"
    before = verify.flagged_writes(connection, days=1)
    # A DBA in psql (another session).
    with superuser_connect().cursor() as cur:
        cur.execute("INSERT INTO testapp_customer (name, email, iban) VALUES ('psql', '', '')")
    after = verify.flagged_writes(connection, days=1)
    assert after.get("database", 0) == before.get("database", 0) + 1
    assert after.get("app", 0) >= 1


def test_unknown_or_untracked_models_are_refused(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not tracked"):
        call_command("pgaudit_verify", "--model", "testapp.Untracked")
    with pytest.raises(CommandError, match="unknown model"):
        call_command("pgaudit_verify", "--model", "testapp.Nope")
