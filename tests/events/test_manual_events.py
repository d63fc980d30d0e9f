"""Application events: log_audit_event, log_view_access, AuditMixin, log_data_export."""

from __future__ import annotations

import datetime
import decimal
import threading
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.db import connections
from django.test import override_settings
from django.utils.functional import SimpleLazyObject

import pgaudit_django
from pgaudit_django.models import AuditLog, DataExport
from pgaudit_django.utils import log_audit_event, log_data_export, log_view_access
from tests.events.conftest import BASE_MIDDLEWARE, BROWSER, CLIENT_IP, EVENTS_URLS
from tests.testapp.models import Customer


@pytest.fixture
def customer(db: None) -> Customer:
    return Customer.objects.create(name="ACME")


def test_custom_event_is_a_row_in_the_audit_log_with_its_context(
    user: Any, customer: Customer, make_request: Any
) -> None:
    request = make_request(user=user)
    row = log_audit_event(
        user=request.user,
        action="CUSTOM_ACTION",
        content_object=customer,
        changes={"field": "new_value"},
        reason="Custom reason",
        request=request,
    )
    assert row is not None
    stored = AuditLog.objects.select_related("context").get(pk=row.pk)
    assert stored.action == "CUSTOM_ACTION"
    assert stored.user_id == user.pk
    assert stored.content_type == ContentType.objects.get_for_model(Customer)
    assert stored.object_id == str(customer.pk)
    assert stored.object_repr == "ACME"
    assert stored.changes == {"field": "new_value"}
    # Attribution is on the context row, exposed under the original attribute names.
    assert stored.reason == "Custom reason"
    assert stored.ip_address == CLIENT_IP
    assert stored.user_agent == BROWSER
    assert stored.context.user_label == "alice"
    # Same table and history as the trigger rows of that object.
    actions = list(AuditLog.objects.for_object(customer).values_list("action", flat=True))
    assert actions == ["CUSTOM_ACTION", "CREATE"]


def test_event_without_object_or_request(user: Any) -> None:
    row = log_audit_event(user=user, action="REPORT_RUN")
    assert row is not None
    stored = AuditLog.objects.get(pk=row.pk)
    assert (stored.content_type_id, stored.object_id, stored.user_id) == (None, None, user.pk)
    # No request: the context names the user the event was logged for.
    assert (stored.context.source, stored.context.user_label) == ("context", "alice")


def test_any_short_action_is_accepted_and_long_ones_are_a_clear_error(user: Any) -> None:
    assert log_audit_event(user=user, action="x" * 32) is not None
    with pytest.raises(ValueError, match="limit is 32"):
        log_audit_event(user=user, action="x" * 33)
    with pytest.raises(ValueError, match="empty"):
        log_audit_event(user=user, action="  ")
    with pytest.raises(TypeError, match="action must be a string"):
        log_audit_event(user=user, action=42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="control characters"):
        log_audit_event(user=user, action="BAD\x00ACTION")


def test_changes_must_be_json_and_common_types_are_converted(user: Any) -> None:
    with pytest.raises(TypeError, match="changes must be JSON-serialisable"):
        log_audit_event(user=user, action="X", changes={"when": object()})
    with pytest.raises(TypeError, match="JSON-serialisable"):
        log_audit_event(user=user, action="X", changes={"nan": float("nan")})
    row = log_audit_event(
        user=user,
        action="X",
        changes={
            "on": datetime.date(2024, 2, 29),
            "amount": decimal.Decimal("1.50"),
            "t": "a\x00b",
        },
    )
    assert row is not None
    assert AuditLog.objects.get(pk=row.pk).changes == {
        "on": "2024-02-29",
        "amount": "1.50",
        "t": "ab",
    }


def test_unsaved_object_or_non_model_is_a_clear_error(user: Any) -> None:
    with pytest.raises(ValueError, match="save it"):
        log_audit_event(user=user, action="X", content_object=Customer(name="unsaved"))
    with pytest.raises(TypeError, match="model instance"):
        log_audit_event(user=user, action="X", content_object="not a model")  # type: ignore[arg-type]


def test_reason_is_bounded_and_typed(user: Any) -> None:
    row = log_audit_event(user=user, action="X", reason="r" * 2000)
    assert row is not None
    reason = AuditLog.objects.get(pk=row.pk).reason
    assert len(reason) == 512 and reason.endswith("…")
    with pytest.raises(TypeError, match="reason must be a string"):
        log_audit_event(user=user, action="X", reason=123)  # type: ignore[arg-type]


def test_anonymous_user_is_stored_as_no_user(make_request: Any, user: Any) -> None:
    request = make_request()  # AnonymousUser
    row = log_audit_event(user=request.user, action="ANON", request=request)
    assert row is not None
    assert AuditLog.objects.get(pk=row.pk).user_id is None
    # An explicit anonymous user also overrides an acting user of the surrounding context.
    with pgaudit_django.context(user=user):
        row = log_audit_event(user=AnonymousUser(), action="ANON")
        inherited = log_audit_event(action="INHERITED")
    assert row is not None and inherited is not None
    assert AuditLog.objects.get(pk=row.pk).user_id is None
    assert AuditLog.objects.get(pk=inherited.pk).user_id == user.pk


def test_user_defaults_to_the_requests_user(user: Any, make_request: Any) -> None:
    row = log_audit_event(action="FROM_REQUEST", request=make_request(user=user))
    assert row is not None
    assert AuditLog.objects.get(pk=row.pk).user_id == user.pk


def test_history_survives_deleting_the_user(user: Any, customer: Customer) -> None:
    row = log_audit_event(user=user, action="APPROVE", content_object=customer)
    assert row is not None
    user_pk = user.pk
    user.delete()
    stored = AuditLog.objects.select_related("context").get(pk=row.pk)
    assert stored.user_id == user_pk
    assert stored.context.user_label == "alice"
    assert not get_user_model().objects.filter(pk=user_pk).exists()


@override_settings(AUDIT_SKIP_ACTIONS=["custom_action", "VIEW"])
def test_skip_actions_apply_and_return_none(
    user: Any, customer: Customer, make_request: Any
) -> None:
    before = AuditLog.objects.count()
    assert log_audit_event(user=user, action="CUSTOM_ACTION", content_object=customer) is None
    assert log_view_access(make_request(user=user), customer) is None
    assert AuditLog.objects.count() == before
    assert log_audit_event(user=user, action="OTHER") is not None


@override_settings(AUDIT_SKIP_MODELS=["testapp.Customer"])
def test_skip_models_apply_to_the_content_object(user: Any, customer: Customer) -> None:
    assert log_audit_event(user=user, action="X", content_object=customer) is None
    assert log_audit_event(user=user, action="X") is not None


def test_view_access_through_the_mixin(client: Any, user: Any, customer: Customer) -> None:
    client.force_login(user)
    with override_settings(ROOT_URLCONF=EVENTS_URLS, MIDDLEWARE=BASE_MIDDLEWARE):
        response = client.get(f"/customers/{customer.pk}/", REMOTE_ADDR=CLIENT_IP)
    assert response.status_code == 200
    row = AuditLog.objects.select_related("context").get(action="VIEW")
    assert (row.user_id, row.object_id) == (user.pk, str(customer.pk))
    assert row.context.route == "customer-detail"
    assert row.ip_address == CLIENT_IP


def test_view_access_extra_details_become_changes(
    user: Any, customer: Customer, make_request: Any
) -> None:
    row = log_view_access(make_request(user=user), customer, tab="invoices")
    assert row is not None
    assert AuditLog.objects.get(pk=row.pk).changes == {"tab": "invoices"}


def test_failed_audit_insert_is_logged_and_does_not_break_the_transaction(
    user: Any, failing_inserts: Any, caplog: Any
) -> None:
    failing_inserts("pgaudit_auditlog", "NEW.action = 'FAIL_ME'")
    assert log_audit_event(user=user, action="FAIL_ME") is None
    assert "could not record audit event 'FAIL_ME'" in caplog.text
    # The surrounding (test) transaction is still usable: the failure was in a savepoint.
    Customer.objects.create(name="still works")
    assert log_audit_event(user=user, action="FINE") is not None


def test_lazy_objects_such_as_request_user_are_accepted(user: Any) -> None:
    lazy = SimpleLazyObject(lambda: user)  # what AuthenticationMiddleware puts on request.user
    row = log_audit_event(user=lazy, action="PROFILE_SEEN", content_object=lazy)
    assert row is not None
    assert AuditLog.objects.get(pk=row.pk).table_name == "auth_user"
    with override_settings(AUDIT_SKIP_MODELS=["auth.User"]):
        assert (
            log_audit_event(action="PROFILE_SEEN", content_object=SimpleLazyObject(lambda: user))
            is None
        )


# --- data exports ----------------------------------------------------------------------------


def test_export_validation(user: Any) -> None:
    with pytest.raises(TypeError, match="filters must be JSON-serialisable"):
        log_data_export(user=user, export_type="x", file_format="CSV", filters={"q": object()})
    with pytest.raises(ValueError, match="record_count must be between"):
        log_data_export(user=user, export_type="x", file_format="CSV", record_count=-1)
    with pytest.raises(TypeError, match="record_count must be an integer"):
        log_data_export(user=user, export_type="x", file_format="CSV", record_count=True)
    with pytest.raises(ValueError, match="export_type must not be empty"):
        log_data_export(user=user, export_type=" ", file_format="CSV")
    assert not DataExport.objects.exists()


def test_export_sizes_are_64_bit_and_texts_bounded(user: Any) -> None:
    export = log_data_export(
        user=user,
        export_type="E" * 500,
        file_format="parquet",
        record_count=3_000_000_000,
        file_size=5 * 2**30,  # 5 GiB: more than a 32-bit column holds
        filters={"since": datetime.date(2024, 1, 1), "ids": [1, 2]},
    )
    assert export is not None
    stored = DataExport.objects.get(pk=export.pk)
    assert (stored.record_count, stored.file_size) == (3_000_000_000, 5 * 2**30)
    assert len(stored.export_type) == 100 and stored.export_type.endswith("…")
    assert stored.file_format == "PARQUET"
    assert stored.filters == {"since": "2024-01-01", "ids": [1, 2]}
    assert stored.ip_address is None and stored.context_id is not None


def test_export_history_survives_deleting_the_user(user: Any) -> None:
    export = log_data_export(user=user, export_type="Users", file_format="CSV", record_count=1)
    assert export is not None
    user.delete()
    stored = DataExport.objects.get(pk=export.pk)
    assert stored.username == "alice" and stored.user_id is not None


@override_settings(AUDIT_SKIP_MODELS=["pgaudit.DataExport"])
def test_exports_can_be_skipped(user: Any) -> None:
    assert log_data_export(user=user, export_type="Users", file_format="CSV") is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_downloads_are_all_counted() -> None:
    export = log_data_export(export_type="Users", file_format="CSV", record_count=1)
    assert export is not None
    barrier = threading.Barrier(8)

    def download() -> None:
        try:
            copy = DataExport.objects.get(pk=export.pk)  # each thread its own instance
            barrier.wait(timeout=30)
            copy.record_download()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=download) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    export.refresh_from_db()
    assert export.download_count == 8 and export.last_downloaded is not None
