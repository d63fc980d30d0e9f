"""What a request tells the trigger: user (resolved at write time), IP, agent, request id, route."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client, override_settings

from pgaudit_django.models import AuditLog
from tests.testapp.models import Customer


@pytest.fixture
def alice(db):
    return User.objects.create_user("alice", password="pw")


def _update_of(audit, customer):
    rows = list(AuditLog.objects.for_object(customer).filter(id__gt=audit.since, action="UPDATE"))
    assert len(rows) == 1, rows
    return rows[0]


def test_request_attribution(audit, alice):
    customer = Customer.objects.create(name="c")
    client = Client(HTTP_USER_AGENT="pytest-agent/1.0", REMOTE_ADDR="203.0.113.7")
    client.force_login(alice)
    session_key = client.session.session_key
    response = client.get(f"/customers/{customer.pk}/rename/?name=new", HTTP_X_REQUEST_ID="req-42")
    assert response.status_code == 200
    row = _update_of(audit, customer)
    ctx = row.context
    assert (row.user_id, ctx.user_id, ctx.user_label) == (alice.pk, alice.pk, "alice")
    assert ctx.source == "request"
    assert ctx.ip_address == "203.0.113.7" and row.ip_address == "203.0.113.7"
    assert ctx.user_agent == "pytest-agent/1.0"
    assert ctx.request_id == "req-42" and row.request_id == "req-42"
    assert ctx.method == "GET" and ctx.path == f"/customers/{customer.pk}/rename/"
    assert ctx.route == "rename-customer"
    assert ctx.session_hash and ctx.session_hash != session_key
    assert session_key not in str(ctx.__dict__)


def test_malformed_request_id_is_replaced(audit, alice):
    customer = Customer.objects.create(name="c")
    Client().get(f"/customers/{customer.pk}/rename/", HTTP_X_REQUEST_ID="bad id; drop table")
    rid = _update_of(audit, customer).context.request_id
    assert len(rid) == 32 and all(ch in "0123456789abcdef" for ch in rid)


def test_user_set_inside_the_view_is_the_one_recorded(audit, alice):
    """Token authentication (DRF) sets request.user inside the view, after the middleware ran."""
    customer = Customer.objects.create(name="c")
    Client().get(f"/customers/{customer.pk}/rename-later/", HTTP_X_TEST_USER="alice")
    assert _update_of(audit, customer).user_id == alice.pk


def test_forged_forwarded_for_is_ignored_without_trusted_proxies(audit):
    customer = Customer.objects.create(name="c")
    Client(REMOTE_ADDR="10.0.0.5").get(
        f"/customers/{customer.pk}/rename/", HTTP_X_FORWARDED_FOR="1.2.3.4"
    )
    assert _update_of(audit, customer).context.ip_address == "10.0.0.5"


@override_settings(AUDIT_TRUSTED_PROXY_COUNT=1)
@pytest.mark.parametrize(
    ("header", "expected"), [("198.51.100.9", "198.51.100.9"), ("nonsense", None)]
)
def test_forwarded_for_through_one_trusted_proxy(audit, header, expected):
    customer = Customer.objects.create(name="c")
    response = Client(REMOTE_ADDR="10.0.0.5").get(
        f"/customers/{customer.pk}/rename/", HTTP_X_FORWARDED_FOR=header
    )
    assert response.status_code == 200  # a malformed value never breaks the request
    assert _update_of(audit, customer).context.ip_address == expected


def test_hostile_headers_are_bounded_and_cleaned(audit):
    customer = Customer.objects.create(name="c")
    huge = "A" * 10_000_000
    response = Client().get(
        f"/customers/{customer.pk}/rename/?name=50%25+off", HTTP_USER_AGENT=huge + "\x00"
    )
    assert response.status_code == 200
    row = _update_of(audit, customer)
    assert len(row.context.user_agent) <= 512
    assert "\x00" not in row.context.user_agent
    assert row.changes["name"]["new"] == "50% off"


def test_reads_are_not_touched_and_writes_carry_the_context(db):
    customer = Customer.objects.create(name="q")
    sent: list[str] = []

    def spy(execute, sql, params, many, context):
        # Registered after pgaudit_django's wrapper, so it sees what reaches the driver.
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        list(Customer.objects.all())
        Customer.objects.filter(pk=customer.pk).update(name="w")
    select, update = sent
    assert "set_config" not in select
    assert update.startswith("SELECT set_config('pgaudit_django.context'")


@pytest.mark.django_db(transaction=True)
def test_atomic_requests(audit_tx):
    user = User.objects.create_user("atomic", password="pw")
    customer = Customer.objects.create(name="c")
    connection.settings_dict["ATOMIC_REQUESTS"] = True
    try:
        client = Client()
        client.force_login(user)
        client.get(f"/customers/{customer.pk}/rename/")
    finally:
        connection.settings_dict["ATOMIC_REQUESTS"] = False
    assert _update_of(audit_tx, customer).user_id == user.pk


def test_drf_token_authenticated_view_records_the_token_user(audit, alice):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=alice)
    customer = Customer.objects.create(name="c")
    response = Client().post(
        f"/api/customers/{customer.pk}/rename/",
        {"name": "via-api"},
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    assert response.status_code == 200, response.content
    row = _update_of(audit, customer)
    assert row.user_id == alice.pk and row.context.user_label == "alice"
    assert row.context.route == "api-rename"
