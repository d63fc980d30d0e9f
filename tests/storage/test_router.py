"""The read-replica router: audit reads (the admin's included) go to AUDIT_READ_DATABASE.

In tests the "other" alias mirrors "default" (same server and database), as a streaming
replica would hold the same rows.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.test.utils import CaptureQueriesContext

from pgaudit_django.models import AuditLog, SystemEvent
from pgaudit_django.storage.routers import AuditReadRouter
from tests.testapp.models import Customer

ROUTED = {
    "DATABASE_ROUTERS": ["pgaudit_django.storage.routers.AuditReadRouter"],
    "AUDIT_READ_DATABASE": "other",
}


@pytest.fixture
def routed(settings):
    for name, value in ROUTED.items():
        setattr(settings, name, value)


def test_router_decisions(settings):
    settings.AUDIT_READ_DATABASE = "other"
    router = AuditReadRouter()
    assert router.db_for_read(AuditLog) == "other"
    assert router.db_for_read(SystemEvent) == "other"
    assert router.db_for_read(Customer) is None
    assert router.db_for_write(AuditLog) is None  # writes: the primary, always
    read_there = AuditLog()
    read_there._state.db = "other"
    assert router.db_for_write(AuditLog, instance=read_there) == "default"
    assert router.allow_migrate("other", "pgaudit") is False
    assert router.allow_migrate("default", "pgaudit") is None
    assert router.allow_relation(AuditLog(), User()) is True
    settings.AUDIT_READ_DATABASE = None
    assert router.db_for_read(AuditLog) is None


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_audit_reads_use_the_replica_and_writes_the_primary(routed):
    with (
        CaptureQueriesContext(connections["other"]) as replica,
        CaptureQueriesContext(connections["default"]) as primary,
    ):
        Customer.objects.create(name="routed")
        entry = AuditLog.objects.filter(action="CREATE").latest("id")
        event = SystemEvent.objects.create(event_type="ERROR", title="x")
        fetched = SystemEvent.objects.get(pk=event.pk)  # read from the replica...
        fetched.mark_resolved(notes="ok")  # ...resolved on the primary
    assert entry.changes["name"]["new"] == "routed"
    assert any("pgaudit_auditlog" in q["sql"] for q in replica.captured_queries)
    assert not any(q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE")) for q in replica)
    assert any("UPDATE" in q["sql"] and "pgaudit_systemevent" in q["sql"] for q in primary)
    assert SystemEvent.objects.get(pk=event.pk).resolved


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_the_admin_reads_the_trail_from_the_replica(routed, client):
    root = User.objects.create_superuser("replica-root", "r@example.com", "pw")
    Customer.objects.create(name="seen in the admin")
    client.force_login(root)
    entry = AuditLog.objects.filter(action="CREATE").latest("id")
    with CaptureQueriesContext(connections["other"]) as replica:
        listing = client.get("/admin/pgaudit/auditlog/")
        detail = client.get(f"/admin/pgaudit/auditlog/{entry.pk}/change/")
    assert listing.status_code == 200 and detail.status_code == 200
    assert "seen in the admin" in detail.content.decode()
    assert sum("pgaudit_auditlog" in q["sql"] for q in replica.captured_queries) >= 2
