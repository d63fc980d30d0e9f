"""Every snippet of the original README runs with only the import path changed, and writes the
rows the original documented."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import checks
from django.core.management import call_command
from django.test import override_settings

from pgaudit_django.models import AuditLog, DataExport, LoginAttempt, SystemEvent
from tests.events import seed_readme
from tests.events.conftest import CLIENT_IP, PASSWORD
from tests.testapp.models import Customer

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    *seed_readme.MIDDLEWARE_ADDITIONS,
]
readme_project = override_settings(
    ROOT_URLCONF="tests.events.readme_urls", MIDDLEWARE=MIDDLEWARE, **seed_readme.SETTINGS
)


def test_the_documented_migrate_command_runs(db: None) -> None:
    # "python manage.py migrate audit" becomes "migrate pgaudit" (the app label).
    call_command("migrate", "pgaudit", verbosity=0)


@readme_project
def test_readme_settings_pass_the_system_checks() -> None:
    errors = [
        m for m in checks.run_checks() if m.level >= checks.ERROR and m.id.startswith("pgaudit")
    ]
    assert errors == []


@readme_project
def test_manual_logging_snippets(client: Any, user: Any) -> None:
    thing = Customer.objects.create(name="Thing")
    client.force_login(user)
    response = client.get(f"/manual/?pk={thing.pk}", REMOTE_ADDR=CLIENT_IP)
    assert response.status_code == 200

    event = AuditLog.objects.select_related("context").get(action="CUSTOM_ACTION")
    assert (event.user_id, event.object_id, event.changes) == (
        user.pk,
        str(thing.pk),
        {"field": "new_value"},
    )
    assert (event.reason, event.ip_address) == ("Custom reason", CLIENT_IP)

    system = SystemEvent.objects.get()
    assert (system.event_type, system.title, system.description) == (
        "INFO",
        "Custom Event",
        "Something important happened",
    )
    assert (system.user_id, system.ip_address) == (user.pk, CLIENT_IP)

    export = DataExport.objects.get()
    assert (export.export_type, export.file_format, export.record_count, export.file_size) == (
        "User Data",
        "CSV",
        100,
        1024,
    )
    assert (export.filters, export.user_id, export.ip_address) == (
        {"active": True},
        user.pk,
        CLIENT_IP,
    )
    export.record_download()
    export.record_download()
    export.refresh_from_db()
    assert export.download_count == 2 and export.last_downloaded is not None


@readme_project
def test_audit_mixin_snippet_respects_the_readme_skip_setting(client: Any, user: Any) -> None:
    thing = Customer.objects.create(name="Thing")
    client.force_login(user)
    assert client.get(f"/things/{thing.pk}/").content == b"Thing"
    # The README's settings skip VIEW.
    assert not AuditLog.objects.filter(action="VIEW").exists()
    with override_settings(AUDIT_SKIP_ACTIONS=[]):
        client.get(f"/things/{thing.pk}/")
    view = AuditLog.objects.get(action="VIEW")
    assert (view.user_id, view.object_id) == (user.pk, str(thing.pk))


@readme_project
def test_automatic_logging_listed_by_the_readme(client: Any, user: Any) -> None:
    client.raise_request_exception = False
    assert client.login(username="alice", password=PASSWORD)  # login
    client.logout()  # logout
    assert not client.login(username="alice", password="wrong")  # failed login
    thing = Customer.objects.create(name="Thing")  # model change
    thing.delete()
    client.get("/.env")  # suspicious request (SecurityAuditMiddleware)
    assert list(LoginAttempt.objects.order_by("id").values_list("status", flat=True)) == [
        "SUCCESS",
        "FAILED",
    ]
    actions = set(AuditLog.objects.values_list("action", flat=True))
    assert {"LOGIN", "LOGOUT", "LOGIN_FAILED", "CREATE", "DELETE"} <= actions
    assert SystemEvent.objects.filter(event_type="SECURITY", error_code="secret_file").exists()


@readme_project
def test_summary_snippets(rf: Any, user: Any) -> None:
    request = rf.get("/")
    request.user = user
    result = seed_readme.summaries(request)
    for summary in result.values():
        assert {
            "total_actions",
            "creates",
            "updates",
            "deletes",
            "views",
            "logins",
        } <= summary.keys()
        assert {"failed_logins", "system_errors", "unresolved_events"} <= summary.keys()


@pytest.mark.parametrize(
    "name",
    ["log_audit_event", "log_system_event", "log_data_export", "AuditMixin", "get_audit_summary"],
)
def test_original_names_are_importable(name: str) -> None:
    import pgaudit_django.utils

    assert name in pgaudit_django.utils.__all__ and hasattr(pgaudit_django.utils, name)
