"""AuditHistoryMixin: the "Audit history" button and the per-object history page."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import connection
from django.urls import reverse

from pgaudit_django.admin import AuditHistoryMixin, history
from pgaudit_django.admin.history import history_index_sql
from pgaudit_django.models import AuditLog
from tests.admin.conftest import content, set_reltuples
from tests.testapp.models import Customer, Invoice


def history_url(obj_or_pk, model=Customer) -> str:
    pk = getattr(obj_or_pk, "pk", obj_or_pk)
    return reverse(f"admin:testapp_{model._meta.model_name}_audit_history", args=[pk])


def entry_ids(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r"/admin/pgaudit/auditlog/(\d+)/change/", page)]


def test_change_form_has_the_button(viewer_client, story):
    page = content(viewer_client.get(reverse("admin:testapp_customer_change", args=[story.ada.pk])))
    assert f'href="{history_url(story.ada)}"' in page
    assert "Audit history" in page


def test_history_lists_every_write_path(viewer_client, story):
    grace_rows = set(AuditLog.objects.for_object(story.grace).values_list("pk", flat=True))
    page = content(viewer_client.get(history_url(story.grace)))
    assert set(entry_ids(page)) == grace_rows
    assert "Grace M. Hopper" in page  # the request
    assert "Grace B. Hopper" in page  # the raw SQL update


def test_history_includes_bulk_updates_and_child_deletions(viewer_client, story):
    page = content(viewer_client.get(history_url(story.ada)))
    shown = set(entry_ids(page))
    own = set(AuditLog.objects.for_object(story.ada).values_list("pk", flat=True))
    assert own <= shown
    deletion = AuditLog.objects.get(action="DELETE", object_id=str(story.deleted_invoice_pk))
    creations = AuditLog.objects.filter(
        action="CREATE", content_type__model="invoice", changes__customer_id__new=story.ada.pk
    )
    assert deletion.pk in shown
    assert set(creations.values_list("pk", flat=True)) <= shown
    # The bulk "paid" update leaves customer_id alone: it is on the invoice's own page.
    bulk = AuditLog.objects.filter(action="UPDATE", changes__has_key="paid")
    assert bulk.exists() and not (set(bulk.values_list("pk", flat=True)) & shown)
    invoice_page = content(viewer_client.get(history_url(story.invoices[0], Invoice)))
    assert set(
        bulk.filter(object_id=str(story.invoices[0].pk)).values_list("pk", flat=True)
    ) <= set(entry_ids(invoice_page))
    assert "pgaudit-child-row" in page and "INV-003" in page


def test_moving_a_child_shows_on_both_parents(viewer_client, story):
    invoice = story.invoices[0]
    invoice.customer = story.grace
    invoice.save()
    move = AuditLog.objects.filter(action="UPDATE", object_id=str(invoice.pk)).order_by("-id")[0]
    assert move.pk in entry_ids(content(viewer_client.get(history_url(story.ada))))
    assert move.pk in entry_ids(content(viewer_client.get(history_url(story.grace))))


def test_history_of_a_deleted_object(viewer_client, story):
    pk = story.grace.pk
    story.grace.delete()
    response = viewer_client.get(history_url(pk))
    assert response.status_code == 200
    page = content(response)
    assert "no longer exists" in page
    assert AuditLog.objects.get(
        action="DELETE", object_id=str(pk), content_type__model="customer"
    ).pk in entry_ids(page)
    assert viewer_client.get(history_url(987654)).status_code == 404


def test_history_pages_with_a_cursor(viewer_client, story, monkeypatch):
    for i in range(7):
        Customer.objects.filter(pk=story.ada.pk).update(email=f"ada{i}@example.com")
    model_admin = admin.site._registry[Customer]
    monkeypatch.setattr(model_admin, "audit_history_per_page", 4)
    expected, _ = model_admin.audit_history_page(story.ada.pk, size=1000)
    seen: list[int] = []
    url = history_url(story.ada)
    while url:
        page = content(viewer_client.get(url))
        ids = entry_ids(page)
        assert 0 < len(ids) <= 4
        seen += ids
        older = re.search(r'href="(\?before=[^"]+)" class="pgaudit-older"', page)
        url = history_url(story.ada) + older.group(1) if older else None
    assert seen == [e.pk for e in expected]  # newest first, no gaps, no repeats
    assert len(seen) > 8
    assert viewer_client.get(history_url(story.ada) + "?before=garbage").status_code == 404


def test_user_admin_gets_the_history_automatically(admin_client_, story):
    assert isinstance(admin.site._registry[User], AuditHistoryMixin)
    bob = story.bob
    bob.is_superuser = True
    bob.save()
    page = content(admin_client_.get(reverse("admin:auth_user_change", args=[bob.pk])))
    url = reverse("admin:auth_user_audit_history", args=[bob.pk])
    assert f'href="{url}"' in page
    history_page = content(admin_client_.get(url))
    grant = AuditLog.objects.filter(
        action="UPDATE", object_id=str(bob.pk), changes__has_key="is_superuser"
    ).get()
    assert grant.pk in entry_ids(history_page)
    assert "pbkdf2" not in history_page and "md5$" not in history_page  # hashes are masked


def test_add_history_to_user_admin_is_idempotent_and_keeps_the_admin_class():
    from django.contrib.auth.admin import UserAdmin

    from pgaudit_django.admin import add_history_to_user_admin

    assert add_history_to_user_admin() is False  # already done at autodiscover
    assert isinstance(admin.site._registry[User], UserAdmin)


def test_children_are_left_out_of_a_large_log_without_their_indexes(
    viewer_client, story, monkeypatch
):
    deletion = AuditLog.objects.get(action="DELETE", object_id=str(story.deleted_invoice_pk))
    monkeypatch.setattr(history, "CHILD_SCAN_MAX_ROWS", 1000)
    set_reltuples("pgaudit_auditlog", 5000)  # "large": above the threshold
    page = content(viewer_client.get(history_url(story.ada)))
    assert deletion.pk not in entry_ids(page)
    assert "Not listed: invoices" in page

    statements = history_index_sql(admin.site._registry[Customer])
    assert any(" ON ONLY pgaudit_auditlog " in s for s in statements)
    assert any("ATTACH PARTITION" in s for s in statements)
    with connection.cursor() as cursor:
        for statement in statements:  # CONCURRENTLY cannot run inside the test's transaction
            cursor.execute(statement.replace(" CONCURRENTLY", ""))
    page = content(viewer_client.get(history_url(story.ada)))
    assert deletion.pk in entry_ids(page)
    assert "Not listed" not in page


def test_children_lookup_uses_the_index(story):
    statements = history_index_sql(admin.site._registry[Customer])
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement.replace(" CONCURRENTLY", ""))
        cursor.execute("SET LOCAL enable_seqscan = off")
        model_admin = admin.site._registry[Customer]
        child_source = model_admin.audit_history_sources(story.ada.pk)[1]
        sql, params = child_source.order_by("-timestamp", "-id")[:10].query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "pgaudit_child_" in plan, plan


@pytest.mark.parametrize("pk", ["abc", "1/../2"])
def test_bad_ids_are_404(viewer_client, story, pk):
    assert viewer_client.get(history_url(pk)).status_code == 404
