"""The audit log list: filters, search, links, and the cost of a page."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pgaudit_django import registry
from pgaudit_django.models import AuditContext, AuditLog
from pgaudit_django.utils import log_audit_event
from tests.admin.conftest import REQUEST_ID, STORY_IP, content
from tests.testapp.models import Article, Customer, Invoice

CHANGELIST = "/admin/pgaudit/auditlog/"


def result_ids(response) -> list[int]:
    return [
        int(pk) for pk in re.findall(r'name="_selected_action" value="(\d+)"', content(response))
    ]


def audit_queries(queries) -> list[str]:
    """Queries reading the audit table (not the catalog queries naming it)."""
    return [q["sql"] for q in queries.captured_queries if 'FROM "pgaudit_auditlog"' in q["sql"]]


def test_list_shows_time_user_action_object_summary_ip_request(admin_client_, story):
    page = content(admin_client_.get(CHANGELIST))
    for text in ("alice", "bob", "CREATE", "UPDATE", "DELETE", "INV-003", STORY_IP):
        assert text in page
    assert "paid: false → true" in page  # the bulk update, summarized
    assert "name: Grace M. Hopper → Grace B. Hopper" in page  # the raw SQL update
    # A live object links to its admin page; the deleted invoice does not.
    assert reverse("admin:testapp_invoice_change", args=[story.invoices[0].pk]) in page
    assert reverse("admin:testapp_invoice_change", args=[story.deleted_invoice_pk]) not in page


def test_action_filter_lists_every_action_present_without_distinct(admin_client_, story):
    log_audit_event(user=story.alice, action="APPROVE_REFUND", content_object=story.ada)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE pgaudit_auditlog")
    with CaptureQueriesContext(connection) as queries:
        page = content(admin_client_.get(CHANGELIST))
    for action in ("CREATE", "UPDATE", "DELETE", "TRUNCATE", "AUDIT_BYPASS", "APPROVE_REFUND"):
        assert f'href="?action={action}"' in page
    assert not [sql for sql in audit_queries(queries) if "DISTINCT" in sql.upper()]

    rows = result_ids(admin_client_.get(CHANGELIST, {"action": "APPROVE_REFUND"}))
    assert [AuditLog.objects.get(pk=pk).action for pk in rows] == ["APPROVE_REFUND"]


def test_an_unknown_action_in_the_url_still_filters_and_shows(admin_client_, story):
    response = admin_client_.get(CHANGELIST, {"action": "NEVER_SEEN"})
    assert response.status_code == 200
    assert result_ids(response) == []
    assert 'href="?action=NEVER_SEEN"' in content(response)


def test_model_filter_comes_from_the_registry(admin_client_, story):
    page = content(admin_client_.get(CHANGELIST))
    offered = {int(pk) for pk in re.findall(r'href="\?model=(\d+)"', page)}
    tracked = {ContentType.objects.get_for_model(r.model).pk for r in registry.registrations()}
    assert offered == tracked
    assert ContentType.objects.get_for_model(AuditLog).pk not in offered

    customer_ct = ContentType.objects.get_for_model(Customer)
    rows = result_ids(admin_client_.get(CHANGELIST, {"model": customer_ct.pk}))
    assert rows and {AuditLog.objects.get(pk=pk).content_type_id for pk in rows} == {customer_ct.pk}


def test_user_filter(admin_client_, story):
    page = content(admin_client_.get(CHANGELIST))
    assert f'href="?user={story.alice.pk}"' in page  # staff users are offered
    bob_rows = result_ids(admin_client_.get(CHANGELIST, {"user": story.bob.pk}))
    assert bob_rows and {AuditLog.objects.get(pk=pk).user_id for pk in bob_rows} == {story.bob.pk}
    nobody = result_ids(admin_client_.get(CHANGELIST, {"user": "none"}))
    raw = AuditLog.objects.get(
        content_type=ContentType.objects.get_for_model(Customer),
        object_id=str(story.grace.pk),
        changes__name__new="Grace B. Hopper",
    )
    assert raw.pk in nobody
    assert admin_client_.get(CHANGELIST, {"user": "not-a-number"}).status_code in (200, 302)


def test_date_filters(admin_client_, story):
    newest = AuditLog.objects.order_by("-timestamp").first().timestamp
    page = content(admin_client_.get(CHANGELIST))
    assert 'class="toplinks"' in page  # the date drill-down
    same_day = result_ids(
        admin_client_.get(
            CHANGELIST,
            {
                "timestamp__year": newest.year,
                "timestamp__month": newest.month,
                "timestamp__day": newest.day,
            },
        )
    )
    assert len(same_day) > 5
    assert result_ids(admin_client_.get(CHANGELIST, {"timestamp__year": newest.year - 3})) == []
    midnight = newest.replace(hour=0, minute=0, second=0, microsecond=0)
    today = admin_client_.get(
        CHANGELIST,
        {"timestamp__gte": midnight.isoformat(), "timestamp__lt": "2999-01-01T00:00:00+00:00"},
    )
    assert len(result_ids(today)) == len(same_day)


def test_date_drill_down_never_selects_distinct_dates(admin_client_, story):
    newest = AuditLog.objects.order_by("-timestamp").first().timestamp
    for params in (
        {},
        {"timestamp__year": newest.year},
        {"timestamp__year": newest.year, "timestamp__month": newest.month},
    ):
        with CaptureQueriesContext(connection) as queries:
            assert admin_client_.get(CHANGELIST, params).status_code == 200
        sql = " ".join(audit_queries(queries)).upper()
        assert "DISTINCT" not in sql and "DATE_TRUNC" not in sql


def test_search_uses_indexed_exact_columns_only(admin_client_, story):
    def search(term):
        with CaptureQueriesContext(connection) as queries:
            ids = result_ids(admin_client_.get(CHANGELIST, {"q": term}))
        assert not [s for s in audit_queries(queries) if "LIKE" in s.upper()]
        return {AuditLog.objects.get(pk=pk) for pk in ids}

    by_object = search(str(story.invoices[0].pk))
    assert any(e.object_repr == story.invoices[0].number for e in by_object)
    assert {e.object_id for e in by_object} == {str(story.invoices[0].pk)}

    assert {e.user_id for e in search("BOB")} == {story.bob.pk}

    by_request = search(REQUEST_ID)
    assert by_request and {e.context.request_id for e in by_request} == {REQUEST_ID}
    by_ip = search(STORY_IP)
    assert by_ip and {str(e.context.ip_address) for e in by_ip} == {STORY_IP}

    assert search("Lovelace") == set()  # no substring search over names or JSON


def test_everything_from_this_request_and_transaction(admin_client_, story):
    request_rows = AuditLog.objects.filter(context__request_id=REQUEST_ID)
    assert request_rows.exists()
    page = content(admin_client_.get(CHANGELIST))
    assert f"?request_id={REQUEST_ID}" in page

    shown = result_ids(admin_client_.get(CHANGELIST, {"request_id": REQUEST_ID}))
    assert set(shown) == set(request_rows.values_list("pk", flat=True))

    tx = request_rows.first().context.transaction_id
    assert f"?transaction={tx}" in page
    shown = result_ids(admin_client_.get(CHANGELIST, {"transaction": tx}))
    expected = AuditLog.objects.filter(
        context_id__in=AuditContext.objects.filter(transaction_id=tx).values("id")
    )
    assert set(shown) == set(expected.values_list("pk", flat=True))
    assert admin_client_.get(CHANGELIST, {"transaction": "x"}).status_code in (200, 302)


def test_object_filter_is_one_objects_history(admin_client_, story):
    ct = ContentType.objects.get_for_model(Customer)
    shown = result_ids(admin_client_.get(CHANGELIST, {"object": f"{ct.pk}:{story.ada.pk}"}))
    assert set(shown) == set(AuditLog.objects.for_object(story.ada).values_list("pk", flat=True))


def test_ordering_is_the_primary_key_order_only(admin_client_, story):
    with CaptureQueriesContext(connection) as queries:
        admin_client_.get(CHANGELIST, {"o": "3.-5"})  # a hand-made sort request is ignored
    page_query = next(s for s in audit_queries(queries) if "ORDER BY" in s and "COUNT" not in s)
    assert (
        page_query.rstrip()
        .split("ORDER BY")[1]
        .strip()
        .startswith('"pgaudit_auditlog"."timestamp" DESC, "pgaudit_auditlog"."id" DESC')
    )


def _many_rows(n: int) -> None:
    """Customers and invoices interleaved, so a 10-row and a 100-row page show the same models."""
    Article.objects.create(title="An article")
    for i in range(n // 2):
        customer = Customer.objects.create(name=f"C{i}")
        Invoice.objects.create(customer=customer, number=f"Q-{i}")


@pytest.mark.parametrize("params", [{}, {"action": "CREATE"}], ids=["unfiltered", "filtered"])
def test_query_count_does_not_grow_with_page_size(admin_client_, monkeypatch, params):
    _many_rows(120)
    model_admin = admin.site._registry[AuditLog]
    counts = {}
    for per_page in (10, 100):
        monkeypatch.setattr(model_admin, "list_per_page", per_page)
        with CaptureQueriesContext(connection) as queries:
            response = admin_client_.get(CHANGELIST, params)
        assert len(result_ids(response)) == per_page
        counts[per_page] = len(queries.captured_queries)
    assert counts[10] == counts[100], counts


def test_no_full_count_of_the_table(admin_client_, story):
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE pgaudit_auditlog")
    for params in ({}, {"action": "UPDATE"}, {"q": "bob"}):
        with CaptureQueriesContext(connection) as queries:
            admin_client_.get(CHANGELIST, params)
        for sql in audit_queries(queries):
            if "COUNT(" in sql.upper():
                assert "LIMIT" in sql.upper(), sql  # capped: stops after the cap


def test_context_filters_fetch_rows_by_key_or_fall_back_to_the_context(story, monkeypatch):
    from pgaudit_django.admin import contexts

    ids = contexts.context_ids(AuditContext.objects.filter(request_id=REQUEST_ID))
    expected = set(AuditLog.objects.filter(context_id__in=ids).values_list("pk", flat=True))
    assert expected

    by_key = contexts.rows_of_contexts(ids)
    sql = str(AuditLog.objects.filter(by_key).query)
    assert '"pgaudit_auditlog"."id" IN' in sql and '"context_id" IN' not in sql
    assert set(AuditLog.objects.filter(by_key).values_list("pk", flat=True)) == expected

    monkeypatch.setattr(contexts, "MAX_ROWS", len(expected) - 1)  # "many rows": by context
    by_context = contexts.rows_of_contexts(ids)
    assert '"context_id" IN' in str(AuditLog.objects.filter(by_context).query)
    assert set(AuditLog.objects.filter(by_context).values_list("pk", flat=True)) == expected

    assert not AuditLog.objects.filter(contexts.rows_of_contexts([])).exists()
