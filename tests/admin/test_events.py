"""Admins of login attempts, data exports and system events."""

from __future__ import annotations

import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from pgaudit_django import registry
from pgaudit_django.models import AuditLog, DataExport, LoginAttempt, SystemEvent
from pgaudit_django.utils import log_data_export, log_system_event
from tests.admin.conftest import client_for, content, make_user


def changelist(model) -> str:
    return reverse(f"admin:pgaudit_{model._meta.model_name}_changelist")


def ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r"/admin/pgaudit/\w+/(\d+)/change/", content(response))]


@pytest.fixture
def events(db):
    attempts = [
        LoginAttempt.objects.create(username="Alice", status="FAILED", ip_address="198.51.100.4"),
        LoginAttempt.objects.create(username="bob", status="SUCCESS", ip_address="198.51.100.5"),
    ]
    export = log_data_export(user=None, export_type="Orders", file_format="csv", record_count=7)
    error = log_system_event(event_type="ERROR", title="<b>Disk</b> full", details={"x": 1})
    return attempts, export, error


def test_event_lists_render_and_escape(admin_client_, events):
    for model in (LoginAttempt, DataExport, SystemEvent):
        response = admin_client_.get(changelist(model))
        assert response.status_code == 200, model
    page = content(admin_client_.get(changelist(SystemEvent)))
    assert "&lt;b&gt;Disk&lt;/b&gt; full" in page and "<b>Disk</b>" not in page


def test_login_attempt_search_is_exact_and_case_insensitive(admin_client_, events):
    attempts = events[0]
    assert ids(admin_client_.get(changelist(LoginAttempt), {"q": "alice"})) == [attempts[0].pk]
    assert ids(admin_client_.get(changelist(LoginAttempt), {"q": "198.51.100.5"})) == [
        attempts[1].pk
    ]
    assert ids(admin_client_.get(changelist(LoginAttempt), {"q": "ali"})) == []
    assert ids(admin_client_.get(changelist(LoginAttempt), {"status__exact": "FAILED"})) == [
        attempts[0].pk
    ]


def test_mark_resolved_action(events):
    error = events[2]
    staff = make_user("oncall", perms=("pgaudit.view_systemevent", "pgaudit.change_systemevent"))
    client = client_for(staff)
    response = client.post(
        changelist(SystemEvent), {"action": "mark_resolved", "_selected_action": [error.pk]}
    )
    assert response.status_code == 302
    error.refresh_from_db()
    assert error.resolved and error.resolved_by_id == staff.pk and error.resolved_at
    if registry.get_registration(SystemEvent) is None:
        # Not tracked by the triggers: the admin wrote the audit row itself.
        row = AuditLog.objects.get(
            content_type=ContentType.objects.get_for_model(SystemEvent), object_id=str(error.pk)
        )
        assert row.action == "RESOLVE" and row.user_id == staff.pk
        assert row.changes["resolved"] == {"old": False, "new": True}
    # Resolving again is a no-op, not a crash.
    client.post(
        changelist(SystemEvent), {"action": "mark_resolved", "_selected_action": [error.pk]}
    )
    assert AuditLog.objects.filter(action="RESOLVE").count() <= 1


def test_resolution_notes_through_the_form_are_recorded(admin_client_, superuser, events):
    error = events[2]
    url = reverse("admin:pgaudit_systemevent_change", args=[error.pk])
    form = content(admin_client_.get(url))
    assert 'name="resolution_notes"' in form and 'name="title"' not in form
    admin_client_.post(url, {"resolved": "on", "resolution_notes": "replaced the disk"})
    error.refresh_from_db()
    assert error.resolved and error.resolution_notes == "replaced the disk"
    assert error.resolved_by_id == superuser.pk
    if registry.get_registration(SystemEvent) is None:
        row = AuditLog.objects.get(action="RESOLVE", object_id=str(error.pk))
        assert row.changes["resolution_notes"]["new"] == "replaced the disk"

    admin_client_.post(url, {"resolution_notes": "reopened: disk failed again"})  # unticked
    error.refresh_from_db()
    assert not error.resolved and error.resolved_by_id is None
    if registry.get_registration(SystemEvent) is None:
        assert AuditLog.objects.filter(action="REOPEN", object_id=str(error.pk)).exists()


def test_system_event_detail_is_escaped(admin_client_, events):
    page = content(
        admin_client_.get(reverse("admin:pgaudit_systemevent_change", args=[events[2].pk]))
    )
    assert "<b>Disk</b>" not in page
