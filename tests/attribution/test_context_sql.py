"""pgaudit_context() under pressure: lock timeouts and nested contexts (issue 18, items 1-2)."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import transaction

import pgaudit_django
from pgaudit_django.models import AuditContext, AuditLog
from tests.testapp.models import Customer


def test_lock_timeout_on_the_context_table_fails_the_write_instead_of_stripping_the_user(
    audit_tx, raw_connect
):
    """A lock_timeout while writing the context row must fail the statement.

    It used to be caught by the handler meant for malformed JSON: the fallback INSERT then
    succeeded once the lock was gone, and the write committed with source 'invalid' and no
    user. Here the lock is held for 1.5 s against a 1 s lock_timeout: the first INSERT times
    out, and the old fallback INSERT would have succeeded after the release.
    """
    user_payload = json.dumps({"v": 1, "src": "request", "user": "1"})
    holder, writer = raw_connect(), raw_connect()
    holder.execute("BEGIN")
    holder.execute("LOCK TABLE pgaudit_auditcontext IN ACCESS EXCLUSIVE MODE")
    release = threading.Timer(1.5, lambda: holder.execute("COMMIT"))
    release.start()
    error: list[BaseException] = []
    try:
        with writer.transaction():
            writer.execute("SELECT set_config('lock_timeout', '1s', true)")
            writer.execute("SELECT set_config('pgaudit_django.context', %s, true)", [user_payload])
            writer.execute(
                "INSERT INTO testapp_customer (name, email, iban) VALUES ('locked', '', '')"
            )
    except Exception as exc:  # psycopg / psycopg2 LockNotAvailable
        error.append(exc)
    finally:
        release.join()
    assert error, "the write committed although its context row could not be written"
    assert "lock timeout" in str(error[0])
    assert not Customer.objects.filter(name="locked").exists()
    assert not AuditContext.objects.filter(source="invalid").exists()
    assert audit_tx.captured() == []


def test_malformed_context_still_keeps_the_write(audit_tx, raw_connect):
    conn = raw_connect()
    with conn.transaction():
        conn.execute("""SELECT set_config('pgaudit_django.context', '{"ip": "not an ip"}', true)""")
        conn.execute("INSERT INTO testapp_customer (name, email, iban) VALUES ('bad ip', '', '')")
    (row,) = audit_tx.captured()
    assert row.context.source == "invalid"
    assert "not an ip" in row.context.metadata["raw"]


def test_outer_context_is_reused_after_a_nested_context_returns(audit):
    """Every context of a transaction is remembered, not only the newest."""
    with transaction.atomic(), pgaudit_django.context(reason="outer"):
        Customer.objects.create(name="1")
        with pgaudit_django.context(reason="inner"):
            Customer.objects.create(name="2")
        Customer.objects.create(name="3")
        with pgaudit_django.context(reason="inner"):
            Customer.objects.create(name="4")
    first, second, third, fourth = audit.captured()
    assert first.context_id == third.context_id
    assert second.context_id == fourth.context_id != first.context_id
    reasons = AuditContext.objects.filter(id__in=[first.context_id, second.context_id]).values_list(
        "reason", flat=True
    )
    assert sorted(reasons) == ["inner", "outer"]


def test_many_contexts_in_one_transaction_stay_correct(audit):
    """Past the 32 remembered contexts a context is written again, never mixed up."""
    with transaction.atomic():
        for i in range(40):
            with pgaudit_django.context(reason=f"r{i % 35}"):
                Customer.objects.create(name=str(i))
    rows = audit.captured()
    assert [r.context.reason for r in rows] == [f"r{i % 35}" for i in range(40)]
    assert AuditLog.objects.filter(id__in=[r.id for r in rows]).count() == 40


@pytest.mark.parametrize("reuse", [True, False])
def test_savepoint_rollback_forgets_the_context_rows_it_removed(audit, reuse):
    with transaction.atomic(), pgaudit_django.context(reason="outer"):
        try:
            with transaction.atomic(), pgaudit_django.context(reason="inner"):
                Customer.objects.create(name="rolled back")
                raise RuntimeError
        except RuntimeError:
            pass
        with pgaudit_django.context(reason="inner" if reuse else "other"):
            Customer.objects.create(name="kept")
    (row,) = audit.captured()
    assert row.context.reason == ("inner" if reuse else "other")


def test_returning_to_an_earlier_context_then_repeating_it_keeps_it(audit):
    """The context in use is tracked apart from the list: after switching back to a remembered
    context, the next statement with the same JSON must not take the newest list entry."""
    with transaction.atomic():
        with pgaudit_django.context(reason="a"):
            Customer.objects.create(name="1")
        with pgaudit_django.context(reason="b"):
            Customer.objects.create(name="2")
        with pgaudit_django.context(reason="a"):
            Customer.objects.create(name="3")
            Customer.objects.create(name="4")
    assert [r.context.reason for r in audit.captured()] == ["a", "b", "a", "a"]
