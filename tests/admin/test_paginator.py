"""Counts without COUNT(*) over the table: the planner's estimate, or a capped count."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pgaudit_django.admin.paginator import EstimatedCountPaginator, capped_count, estimated_rows
from pgaudit_django.models import AuditLog
from tests.admin.conftest import content, set_reltuples
from tests.testapp.models import Customer, Tag


@pytest.fixture
def customers(db):
    return [Customer.objects.create(name=f"P{i}") for i in range(30)]


def test_unfiltered_count_is_the_planner_estimate(customers):
    partitions = 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_partition_tree('pgaudit_auditlog') WHERE isleaf")
        partitions = cursor.fetchone()[0]
    set_reltuples("pgaudit_auditlog", 5_000_000)
    paginator = EstimatedCountPaginator(AuditLog.objects.all(), 50)
    with CaptureQueriesContext(connection) as queries:
        count = paginator.count
    assert count == 5_000_000 * partitions
    assert paginator.count_is_estimate and not paginator.count_is_capped
    assert paginator.count_label.startswith("about ")
    assert not [q for q in queries.captured_queries if "count(" in q["sql"].lower()]


def test_small_or_never_analyzed_tables_are_counted_exactly(customers):
    set_reltuples("pgaudit_auditlog", -1)  # "never analyzed" (PostgreSQL 14+)
    assert estimated_rows(AuditLog.objects.all()) is None
    exact = AuditLog.objects.count()
    paginator = EstimatedCountPaginator(AuditLog.objects.all(), 50)
    assert paginator.count == exact and not paginator.count_is_estimate

    set_reltuples("pgaudit_auditlog", 3)  # analyzed, but below the cap: still exact
    assert EstimatedCountPaginator(AuditLog.objects.all(), 50).count == exact


def test_plain_tables_are_estimated_too(db):
    set_reltuples("testapp_tag", 123_456)
    assert estimated_rows(Tag.objects.all()) == 123_456


def test_filtered_count_is_capped(customers, monkeypatch):
    queryset = AuditLog.objects.filter(action="CREATE")
    assert queryset.count() >= 30
    monkeypatch.setattr(EstimatedCountPaginator, "count_cap", 10)
    paginator = EstimatedCountPaginator(queryset, 5)
    with CaptureQueriesContext(connection) as queries:
        assert paginator.count == 11
    (sql,) = [q["sql"] for q in queries.captured_queries]
    assert "LIMIT 11" in sql
    assert paginator.count_is_capped and paginator.count_label == "more than 10"
    assert paginator.num_pages == 3
    assert len(paginator.page(3).object_list) == 1
    assert capped_count(queryset, 1000) == queryset.count()


def test_changelist_shows_the_estimate(admin_client_, customers):
    set_reltuples("pgaudit_auditlog", 10_000_000)
    response = admin_client_.get("/admin/pgaudit/auditlog/")
    assert response.status_code == 200
    page = content(response)
    assert "about " in page and "0,000,000" in page
    assert 'class="end"' in page  # the last page link of the estimated page range
