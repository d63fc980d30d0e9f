"""Nobody edits audit data through the admin; people without the view permission see nothing."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from pgaudit_django.models import AuditLog, DataExport, LoginAttempt, SystemEvent
from pgaudit_django.utils import log_data_export, log_system_event
from tests.admin.conftest import client_for, content, make_user

READ_ONLY_MODELS = [AuditLog, LoginAttempt, DataExport, SystemEvent]


def url(model, view, *args):
    return reverse(f"admin:pgaudit_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def one_of_each(story, superuser):
    log_data_export(user=superuser, export_type="Customers", file_format="CSV", record_count=3)
    log_system_event(event_type="ERROR", title="Disk full")
    LoginAttempt.objects.create(username="mallory", status="FAILED")
    return {model: model.objects.order_by("-id").first() for model in READ_ONLY_MODELS}


@pytest.mark.parametrize("model", READ_ONLY_MODELS, ids=lambda m: m.__name__)
def test_nobody_may_add_or_delete_not_even_a_superuser(model, superuser, one_of_each):
    model_admin = admin.site._registry[model]
    request = type("R", (), {"user": superuser})()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert not model_admin.has_delete_permission(request, one_of_each[model])
    assert "delete_selected" not in model_admin.get_actions(
        type("R", (), {"user": superuser, "GET": {}})()
    )


@pytest.mark.parametrize("model", READ_ONLY_MODELS, ids=lambda m: m.__name__)
def test_crafted_posts_are_refused(model, admin_client_, one_of_each):
    row = one_of_each[model]
    count = model.objects.count()

    assert admin_client_.get(url(model, "add")).status_code == 403
    assert (
        admin_client_.post(url(model, "add"), {"action": "X", "title": "forged"}).status_code == 403
    )
    assert admin_client_.post(url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
    response = admin_client_.post(
        url(model, "changelist"),
        {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)  # "no action selected", nothing deleted
    assert model.objects.count() == count
    assert model.objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("model", [AuditLog, LoginAttempt, DataExport], ids=lambda m: m.__name__)
def test_change_posts_are_refused(model, admin_client_, one_of_each):
    row = one_of_each[model]
    before = model.objects.filter(pk=row.pk).values().get()
    response = admin_client_.post(
        url(model, "change", row.pk),
        {"action": "FORGED", "username": "forged", "export_type": "forged", "object_id": "1"},
    )
    assert response.status_code == 403
    assert model.objects.filter(pk=row.pk).values().get() == before


def test_system_event_change_post_only_touches_the_resolution(admin_client_, one_of_each):
    event = one_of_each[SystemEvent]
    response = admin_client_.post(
        url(SystemEvent, "change", event.pk),
        {
            "title": "forged",
            "event_type": "INFO",
            "resolved": "on",
            "resolution_notes": "disk swapped",
        },
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.title, event.event_type) == ("Disk full", "ERROR")
    assert event.resolved and event.resolution_notes == "disk swapped"


def test_system_event_without_change_permission_cannot_resolve(one_of_each):
    event = one_of_each[SystemEvent]
    client = client_for(make_user("eventviewer", perms=("pgaudit.view_systemevent",)))
    assert client.get(url(SystemEvent, "change", event.pk)).status_code == 200  # read-only view
    response = client.post(url(SystemEvent, "change", event.pk), {"resolved": "on"})
    assert response.status_code == 403
    response = client.post(
        url(SystemEvent, "changelist"), {"action": "mark_resolved", "_selected_action": [event.pk]}
    )
    event.refresh_from_db()
    assert not event.resolved


@pytest.mark.parametrize("model", READ_ONLY_MODELS, ids=lambda m: m.__name__)
def test_staff_without_view_permission_sees_nothing(model, staff_client, one_of_each):
    row = one_of_each[model]
    assert staff_client.get(url(model, "changelist")).status_code == 403
    assert staff_client.get(url(model, "change", row.pk)).status_code == 403
    index = content(staff_client.get(reverse("admin:index")))
    assert "pgaudit" not in index.lower() and "Audit log" not in index


def test_staff_without_audit_permission_gets_no_history(story):
    client = client_for(make_user("custviewer", perms=("testapp.view_customer",)))
    change_page = content(client.get(reverse("admin:testapp_customer_change", args=[story.ada.pk])))
    assert "Ada Lovelace" in change_page
    assert "audit-history" not in change_page
    history = reverse("admin:testapp_customer_audit_history", args=[story.ada.pk])
    assert client.get(history).status_code == 403


def test_audit_viewer_without_model_permission_gets_no_history(story):
    client = client_for(make_user("auditonly", perms=("pgaudit.view_auditlog",)))
    history = reverse("admin:testapp_customer_audit_history", args=[story.ada.pk])
    assert client.get(history).status_code == 403


def test_viewer_reads_list_and_detail(viewer_client, story):
    assert viewer_client.get(url(AuditLog, "changelist")).status_code == 200
    entry = AuditLog.objects.filter(action="UPDATE").first()
    page = content(viewer_client.get(url(AuditLog, "change", entry.pk)))
    assert 'name="_save"' not in page  # no save button: nothing to submit
