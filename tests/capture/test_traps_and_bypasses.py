"""The traps measured while designing capture, and the ways capture can be switched off."""

from __future__ import annotations

import time

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection

import pgaudit_django
from tests.testapp.models import Customer, Product


def _timed_update(cursor, where: str) -> float:
    started = time.perf_counter()
    cursor.execute(f"UPDATE testapp_customer SET email = email || 'x' WHERE {where}")
    return time.perf_counter() - started


@pytest.mark.slow
def test_big_update_after_small_one_keeps_a_good_plan(audit_tx):
    """PL/pgSQL caches plans per session: a plan made for a 1-row OLD/NEW join must not be
    reused for 20,000 rows (seen: 253 s instead of 0.4 s). The statement_timeout turns a
    catastrophic plan into a failure instead of a hang."""
    Customer.objects.bulk_create([Customer(name=f"p{i}") for i in range(20_000)])
    first = Customer.objects.order_by("id").first()
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = '60s'")
        alone = _timed_update(cursor, "true")
        _timed_update(cursor, f"id = {first.pk}")
        after_small = _timed_update(cursor, "true")
        cursor.execute("RESET statement_timeout")
    assert len(audit_tx.captured(action="UPDATE")) == 40_001
    assert after_small < alone * 5, (alone, after_small)


def test_pgtrigger_ignore_cannot_skip_an_audit_trigger(audit):
    """pgtrigger.ignore (a setting any session may set) has no effect on audit triggers.

    Before the library rendered its own trigger SQL, naming an audit trigger in
    ``pgtrigger.ignore`` skipped it (recorded as AUDIT_BYPASS, but skipped).
    """
    customer = Customer.objects.create(name="ignored")
    (update_trigger,) = [
        t
        for t in Customer._meta.triggers
        if t.name == "pgaudit_update"  # type: ignore[attr-defined]
    ]
    pgid = update_trigger.get_pgid(Customer)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pgtrigger.ignore', %s, false)", ["{" + pgid + "}"])
        try:
            Customer.objects.filter(pk=customer.pk).update(name="sneaky")
        finally:
            cursor.execute("RESET pgtrigger.ignore")
    assert audit.actions() == ["CREATE", "UPDATE"]
    assert audit.captured(action="UPDATE")[0].changes["name"]["new"] == "sneaky"


def test_disabled_skips_capture_and_leaves_a_trace(audit):
    with pgaudit_django.disabled(reason="backfill"):
        Customer.objects.create(name="hidden")
    Customer.objects.create(name="visible")
    (trace,) = audit.all(action="AUDIT_DISABLED")
    assert trace.changes["reason"] == "backfill"
    assert "test_traps_and_bypasses.py" in trace.changes["where"]
    assert [r.changes["name"]["new"] for r in audit.captured()] == ["visible"]
    (skipped,) = audit.all(action="AUDIT_SKIPPED")  # the trigger's own trace of the skip
    assert skipped.context.source == "disabled" and skipped.context.reason == "backfill"


@pytest.mark.parametrize("order", ["disabled-outside", "disabled-inside"])
def test_disabled_and_context_nest_in_either_order(audit, django_user_model, order):
    user = django_user_model.objects.create(username=f"n-{order}")
    if order == "disabled-outside":
        with pgaudit_django.disabled(), pgaudit_django.context(user=user):
            Customer.objects.create(name="skipped")
    else:
        with pgaudit_django.context(user=user), pgaudit_django.disabled():
            Customer.objects.create(name="skipped")
    with pgaudit_django.context(user=user):
        Customer.objects.create(name="kept")
    kept = audit.captured(content_type=ContentType.objects.get_for_model(Customer))
    assert [r.changes["name"]["new"] for r in kept] == ["kept"]
    assert kept[0].user_id == user.pk


def test_column_added_outside_django_never_breaks_writes(audit):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE testapp_product ADD COLUMN dba_note text DEFAULT 'n'")
    product = Product.objects.create(sku="after-alter", price=1)
    Product.objects.filter(pk=product.pk).update(price=2)
    create, update = audit.captured(content_type=ContentType.objects.get_for_model(Product))
    assert "dba_note" not in create.changes
    assert update.changes == {"price": {"old": 1, "new": 2}}


def test_missing_content_type_stores_the_table_instead(audit):
    # A data migration on a fresh database runs before Django creates content types.
    ContentType.objects.filter(app_label="testapp", model="product").delete()
    ContentType.objects.clear_cache()
    try:
        Product.objects.create(sku="no-ct")
        (row,) = audit.captured()
        assert row.content_type_id is None
        assert row.table_name == "testapp_product"
    finally:
        ContentType.objects.clear_cache()


def test_invalid_context_text_keeps_the_write_and_the_row(audit_tx, raw_connect):
    customer = Customer.objects.create(name="bad-ctx")
    conn = raw_connect()
    with conn.transaction():
        conn.execute("SELECT set_config('pgaudit_django.context', '{not json', true)")
        conn.execute(
            "UPDATE testapp_customer SET name = 'still written' WHERE id = %s", [customer.pk]
        )
    update = audit_tx.captured(action="UPDATE")[0]
    assert update.changes["name"]["new"] == "still written"
    assert update.context.source == "invalid"
    assert update.context.metadata["raw"] == "{not json"


def test_context_value_of_the_wrong_type_is_recorded_as_invalid(audit_tx, raw_connect):
    customer = Customer.objects.create(name="bad-user")
    conn = raw_connect()
    with conn.transaction():
        conn.execute(
            "SELECT set_config('pgaudit_django.context', %s, true)",
            ['{"src": "app", "user": "abc"}'],
        )
        conn.execute("UPDATE testapp_customer SET name = 'ok' WHERE id = %s", [customer.pk])
    update = audit_tx.captured(action="UPDATE")[0]
    assert update.context.source == "invalid" and update.user_id is None


def test_forged_context_cache_cannot_switch_capture_off(audit_tx, raw_connect):
    """The cache settings only name a context row of this transaction; a forged one is ignored."""
    customer = Customer.objects.create(name="forged")
    conn = raw_connect()
    with conn.transaction():
        conn.execute("SELECT set_config('pgaudit_django.context_cache', '1', true)")
        conn.execute("SELECT set_config('pgaudit_django.context_src', '', true)")
        conn.execute(
            "UPDATE testapp_customer SET name = 'still audited' WHERE id = %s", [customer.pk]
        )
    (update,) = audit_tx.captured(action="UPDATE")
    assert update.changes["name"]["new"] == "still audited"
    assert update.context_id != 1 and update.context.source == "database"


def test_forged_legacy_cache_format_is_ignored(audit_tx, raw_connect):
    customer = Customer.objects.create(name="forged2")
    conn = raw_connect()
    with conn.transaction():
        conn.execute("SELECT set_config('pgaudit_django.context_cache', '1||t', true)")
        conn.execute("SELECT set_config('pgaudit_django.context_src', '', true)")
        conn.execute("UPDATE testapp_customer SET name = 'audited' WHERE id = %s", [customer.pk])
    assert len(audit_tx.captured(action="UPDATE")) == 1


def test_a_session_asking_for_no_capture_leaves_a_skip_row(audit_tx, raw_connect):
    customer = Customer.objects.create(name="asked")
    conn = raw_connect()
    with conn.transaction():
        conn.execute("SELECT set_config('pgaudit_django.context', '{\"disabled\": true}', true)")
        conn.execute("UPDATE testapp_customer SET name = 'unaudited' WHERE id = %s", [customer.pk])
    assert audit_tx.captured(action="UPDATE") == []
    (skip,) = audit_tx.all(action="AUDIT_SKIPPED")
    assert skip.table_name == "testapp_customer" and skip.changes == {"operation": "UPDATE"}
    assert skip.context.capture_disabled and skip.context.source == "app"
