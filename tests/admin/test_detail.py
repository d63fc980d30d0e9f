"""The detail page: the diff table, escaped values, masked and long values, the full context."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

import pgaudit_django
from pgaudit_django.models import AuditLog
from pgaudit_django.utils import log_audit_event
from tests.admin.conftest import REQUEST_ID, STORY_IP, content
from tests.testapp.models import Customer, Invoice

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'


def detail(client, entry: AuditLog) -> str:
    response = client.get(reverse("admin:pgaudit_auditlog_change", args=[entry.pk]))
    assert response.status_code == 200
    return content(response)


def latest(model, **filters) -> AuditLog:
    ct = ContentType.objects.get_for_model(model)
    return AuditLog.objects.filter(content_type=ct, **filters).order_by("-id").first()


@pytest.fixture
def hostile(db):
    customer = Customer.objects.create(name=SCRIPT, email="x@example.com")
    customer.name = IMG
    customer.save()
    return customer


def test_values_are_escaped_on_the_detail_page(admin_client_, hostile):
    page = detail(admin_client_, latest(Customer, action="UPDATE", object_id=str(hostile.pk)))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert SCRIPT not in page
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in page
    assert "<img src=x" not in page


def test_values_are_escaped_in_the_list_and_the_history(admin_client_, hostile):
    listing = content(admin_client_.get("/admin/pgaudit/auditlog/"))
    assert SCRIPT not in listing and "<img src=x" not in listing
    assert "&lt;script&gt;" in listing
    history = content(
        admin_client_.get(reverse("admin:testapp_customer_audit_history", args=[hostile.pk]))
    )
    assert SCRIPT not in history and "<img src=x" not in history
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in history


def test_event_payloads_are_escaped(admin_client_, hostile):
    entry = log_audit_event(
        action="NOTE", content_object=hostile, changes={"comment": SCRIPT, SCRIPT: "key"}
    )
    page = detail(admin_client_, entry)
    assert SCRIPT not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2


def test_diff_table_uses_verbose_names_and_shows_old_and_new(admin_client_, story):
    page = detail(admin_client_, latest(Customer, action="UPDATE", object_id=str(story.ada.pk)))
    assert '<th scope="col">Old value</th>' in page and "New value" in page
    assert "ada@example.com" in page and "ada@analytical.engine" in page
    invoice_create = latest(Invoice, action="CREATE")
    page = detail(admin_client_, invoice_create)
    assert "Value when created" in page
    assert 'customer<br><span class="pgaudit-field">customer_id</span>' in page


def test_masked_values_are_shown_as_masked(admin_client_, story):
    update = latest(Customer, action="UPDATE", object_id=str(story.ada.pk), changes__has_key="iban")
    page = detail(admin_client_, update)
    assert page.count('class="pgaudit-masked"') == 2  # old and new
    assert "DE89" not in page and "FR14" not in page


def test_long_values_are_folded(admin_client_, story):
    invoice = story.invoices[0]
    invoice.data = {"lines": [{"sku": f"SKU-{i}", "text": "x" * 40} for i in range(20)]}
    invoice.save()
    page = detail(admin_client_, latest(Invoice, action="UPDATE", object_id=str(invoice.pk)))
    assert '<details class="pgaudit-fold">' in page
    assert "SKU-19" in page  # all of it is there, behind the fold


def test_context_is_shown_with_links(admin_client_, story):
    entry = AuditLog.objects.filter(context__request_id=REQUEST_ID).first()
    page = detail(admin_client_, entry)
    assert STORY_IP in page
    assert "StoryBrowser" in page
    assert f"?request_id={REQUEST_ID}" in page
    assert f"?transaction={entry.context.transaction_id}" in page
    assert "GET /customers/" in page  # method and path
    assert "role " in page  # the database role


def test_object_link_only_while_the_object_exists(admin_client_, story):
    live = latest(Invoice, action="UPDATE", object_id=str(story.invoices[0].pk))
    assert reverse("admin:testapp_invoice_change", args=[story.invoices[0].pk]) in detail(
        admin_client_, live
    )
    gone = latest(Invoice, action="DELETE", object_id=str(story.deleted_invoice_pk))
    page = detail(admin_client_, gone)
    assert reverse("admin:testapp_invoice_change", args=[story.deleted_invoice_pk]) not in page
    assert "Value when deleted" in page
    ct = ContentType.objects.get_for_model(Invoice).pk
    assert f"?object={ct}%3A{story.deleted_invoice_pk}" in page


def test_reason_is_shown(admin_client_, db):
    with pgaudit_django.context(reason="GDPR request #42"):
        customer = Customer.objects.create(name="R")
    assert "GDPR request #42" in detail(admin_client_, latest(Customer, object_id=str(customer.pk)))
