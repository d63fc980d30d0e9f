"""get_audit_summary: the original keys, the breakdowns, a bounded number of queries."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pgaudit_django.models import AuditLog, LoginAttempt
from pgaudit_django.utils import (
    get_audit_summary,
    log_audit_event,
    log_data_export,
    log_system_event,
)
from tests.events.conftest import PASSWORD
from tests.testapp.models import Customer

ORIGINAL_KEYS = {
    "total_actions",
    "creates",
    "updates",
    "deletes",
    "views",
    "logins",
    "failed_logins",
    "system_errors",
    "unresolved_events",
}


def _counts(rows: list[dict[str, Any]], key: str) -> Counter[Any]:
    return Counter({row[key]: row["count"] for row in rows})


def delta(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """What changed between two summaries: the test database holds rows committed by other
    tests and by migrations (DDL capture), so tests compare against a baseline."""
    scalars = {
        key: after[key] - before[key]
        for key, value in after.items()
        if isinstance(value, int) and key != "days"
    }
    return {
        **scalars,
        "per_action": dict(Counter(after["per_action"]) - Counter(before["per_action"])),
        "today": after["per_day"][-1]["count"] - before["per_day"][-1]["count"],
        "per_model": dict(
            _counts(after["per_model"], "model") - _counts(before["per_model"], "model")
        ),
        "top_users": dict(
            _counts(after["top_users"], "username") - _counts(before["top_users"], "username")
        ),
        "exports": {
            key: after["exports"][key] - before["exports"][key]
            for key in ("count", "records", "bytes")
        },
    }


@pytest.fixture
def history(client: Any, user: Any, make_request: Any) -> dict[str, Any]:
    baseline = {
        "all": get_audit_summary(days=30),
        "anonymous": get_audit_summary(user=AnonymousUser()),
    }
    bob = get_user_model().objects.create_user("bob", password=PASSWORD)
    request = make_request(user=user)
    from pgaudit_django import context

    with context(user=user):
        acme = Customer.objects.create(name="ACME")  # CREATE (trigger)
        Customer.objects.filter(pk=acme.pk).update(name="ACME Inc")  # UPDATE (trigger)
    with context(user=bob):
        gone = Customer.objects.create(name="Gone")
        gone.delete()  # CREATE + DELETE
    log_audit_event(user=user, action="VIEW", content_object=acme, request=request)
    log_audit_event(user=user, action="APPROVE", content_object=acme, request=request)
    assert client.login(username="alice", password=PASSWORD)
    client.login(username="alice", password="wrong")
    client.login(username="bob", password="wrong")
    log_system_event(event_type="ERROR", title="e1", user=user)
    resolved = log_system_event(event_type="ERROR", title="e2", user=bob)
    assert resolved is not None
    resolved.mark_resolved(user=user)
    log_system_event(event_type="INFO", title="deploy")  # needs no resolution
    log_system_event(event_type="SECURITY", title="probe")
    log_data_export(
        user=user, export_type="Users", file_format="csv", record_count=100, file_size=1024
    )
    log_data_export(
        user=bob, export_type="Users", file_format="XLSX", record_count=5, file_size=None
    )
    # Outside the 30-day window.
    AuditLog.objects.create(action="CREATE", timestamp=timezone.now() - timedelta(days=40))
    LoginAttempt.objects.create(
        username="alice", status="FAILED", timestamp=timezone.now() - timedelta(days=40)
    )
    return {"alice": user, "bob": bob, "baseline": baseline}


def test_system_wide_summary(history: dict[str, Any]) -> None:
    summary = get_audit_summary(days=30)
    assert summary.keys() >= ORIGINAL_KEYS
    change = delta(summary, history["baseline"]["all"])
    # The test project tracks auth.User (tests/audit_triggers): creating bob is a CREATE too,
    # next to the customers' CREATE (ACME) and CREATE + DELETE (Gone).
    assert change["per_action"] == {
        "CREATE": 3,
        "LOGIN_FAILED": 2,
        "UPDATE": 1,
        "DELETE": 1,
        "VIEW": 1,
        "APPROVE": 1,
        "LOGIN": 1,
    }
    assert {key: change[key] for key in ORIGINAL_KEYS} == {
        "total_actions": 10,
        "creates": 3,
        "updates": 1,
        "deletes": 1,
        "views": 1,
        "logins": 1,
        "failed_logins": 2,  # the 40-day-old failure is outside the window
        "system_errors": 2,
        "unresolved_events": 2,  # e1 and the SECURITY event; e2 is resolved, INFO needs nothing
    }
    assert change["security_events"] == 1 and change["blocked_logins"] == 0
    assert summary["per_day"][-1]["date"] == timezone.localdate() and change["today"] == 10
    assert len(summary["per_day"]) == 31
    assert sum(day["count"] for day in summary["per_day"]) == summary["total_actions"]
    # Customers: CREATE, UPDATE, CREATE, DELETE, VIEW, APPROVE. Users: bob's CREATE, the LOGIN
    # and the two LOGIN_FAILED rows (each names the account it targeted).
    assert change["per_model"] == {"testapp.customer": 6, "auth.user": 4}
    assert change["top_users"] == {
        "alice": 5,
        "bob": 2,
    }  # alice: CREATE, UPDATE, VIEW, APPROVE, LOGIN
    assert change["exports"] == {"count": 2, "records": 105, "bytes": 1024}
    assert summary["exports"]["per_format"]["XLSX"] == {"count": 1, "records": 5, "bytes": 0}
    assert summary["exports"]["per_format"]["CSV"]["records"] >= 100


def test_summary_for_one_user(history: dict[str, Any]) -> None:
    alice = history["alice"]
    summary = get_audit_summary(user=alice, days=7)
    # alice's own CREATE was made by nobody; hers are the UPDATE... and CREATE of ACME.
    assert (summary["total_actions"], summary["creates"], summary["updates"]) == (5, 1, 1)
    assert (summary["deletes"], summary["views"], summary["logins"]) == (0, 1, 1)
    assert summary["failed_logins"] == 1  # the failure against alice's account
    assert (summary["system_errors"], summary["unresolved_events"]) == (1, 1)
    assert summary["top_users"] == [{"user_id": alice.pk, "username": "alice", "count": 5}]
    assert summary["exports"]["count"] == 1 and len(summary["per_day"]) == 8
    assert summary["per_action"] == {"CREATE": 1, "UPDATE": 1, "VIEW": 1, "APPROVE": 1, "LOGIN": 1}


def test_anonymous_user_summarises_rows_without_a_user(history: dict[str, Any]) -> None:
    summary = get_audit_summary(user=AnonymousUser())
    change = delta(summary, history["baseline"]["anonymous"])
    # The two LOGIN_FAILED rows and bob's creation (made by nobody).
    assert change["per_action"] == {"CREATE": 1, "LOGIN_FAILED": 2}
    assert summary["top_users"] == []


def test_deleted_users_stay_in_the_summary(history: dict[str, Any]) -> None:
    bob = history["bob"]
    bob_pk = bob.pk
    bob.delete()
    top = get_audit_summary()["top_users"]
    assert {"user_id": bob_pk, "username": f"deleted user {bob_pk}", "count": 2} in top


def test_summary_takes_a_handful_of_queries(history: dict[str, Any]) -> None:
    with CaptureQueriesContext(connection) as captured:
        get_audit_summary(days=30)
    reads = [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().startswith("SELECT")]
    # Audit log (once), login attempts, system events, exports, content types, users.
    assert len(reads) <= 6, reads
    assert sum('"pgaudit_auditlog"' in sql for sql in reads) == 1


def test_the_audit_log_is_read_in_one_pass(history: dict[str, Any]) -> None:
    """One scan of the period for all four breakdowns (GROUPING SETS), not one per breakdown."""
    from pgaudit_django.events import summary

    since = timezone.now() - timedelta(days=30)
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN " + summary._LOG_SQL.format(table="pgaudit_auditlog", user_filter=""),
            ["UTC", since],
        )
        plan = [row[0] for row in cursor.fetchall()]
    scanned = [
        line.split(" on ", 1)[1].split()[0] for line in plan if "Scan on pgaudit_auditlog" in line
    ]
    # Each partition of the period is scanned exactly once.
    assert scanned and len(scanned) == len(set(scanned)), plan


@pytest.mark.parametrize(
    "days, error", [(0, ValueError), (-1, ValueError), ("7", TypeError), (True, TypeError)]
)
@pytest.mark.django_db
def test_bad_days(days: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        get_audit_summary(days=days)
