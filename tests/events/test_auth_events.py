"""Logins, logouts and failures from Django's auth signals, with and without a request."""

from __future__ import annotations

from typing import Any

import django
import pytest
from django.contrib.auth import authenticate, get_user_model
from django.test import override_settings

from pgaudit_django.events.auth import credential_username
from pgaudit_django.models import AuditLog, LoginAttempt
from tests.events.conftest import (
    BASE_MIDDLEWARE,
    BROWSER,
    CLIENT_IP,
    EVENTS_URLS,
    PASSWORD,
    run_async,
)

if django.VERSION >= (5, 0):
    from django.contrib.auth import aauthenticate
needs_async_auth = pytest.mark.skipif(
    django.VERSION < (5, 0), reason="django.contrib.auth.aauthenticate needs Django 5.0"
)

events_urls = override_settings(ROOT_URLCONF=EVENTS_URLS, MIDDLEWARE=BASE_MIDDLEWARE)
SUCCESS, FAILED = LoginAttempt.Status.SUCCESS, LoginAttempt.Status.FAILED


def test_client_login_works_and_is_recorded_without_an_ip(client: Any, user: Any) -> None:
    # The original library raised IntegrityError here (ip_address NOT NULL, no REMOTE_ADDR).
    assert client.login(username="alice", password=PASSWORD)
    attempt = LoginAttempt.objects.get()
    assert (attempt.status, attempt.username, attempt.user_id) == (SUCCESS, "alice", user.pk)
    assert attempt.ip_address is None and attempt.failure_reason == ""
    login = AuditLog.objects.get(action="LOGIN")
    assert (login.user_id, login.object_id, login.object_repr) == (user.pk, str(user.pk), "alice")


def test_force_login_is_recorded(client: Any, user: Any) -> None:
    client.force_login(user)
    assert LoginAttempt.objects.get().status == SUCCESS
    assert AuditLog.objects.filter(action="LOGIN", user_id=user.pk).count() == 1


def test_authenticate_without_request(user: Any) -> None:
    assert authenticate(username="alice", password="wrong") is None
    assert authenticate(username="nobody", password="wrong") is None
    assert authenticate(username="alice", password=PASSWORD) == user  # no login(): no row
    wrong, unknown = LoginAttempt.objects.order_by("id")
    assert (wrong.status, wrong.username, wrong.user_id) == (FAILED, "alice", user.pk)
    assert wrong.failure_reason == "invalid credentials" and wrong.ip_address is None
    assert (unknown.username, unknown.user_id, unknown.failure_reason) == (
        "nobody",
        None,
        "unknown user",
    )
    failed = AuditLog.objects.filter(action="LOGIN_FAILED").order_by("id")
    assert [row.changes["username"] for row in failed] == ["alice", "nobody"]
    # The failure against an existing account appears in that account's history.
    assert failed[0].object_id == str(user.pk) and failed[1].object_id is None
    assert failed[0].user_id is None  # nobody was logged in


@events_urls
def test_login_and_logout_through_views(client: Any, user: Any) -> None:
    meta = {"REMOTE_ADDR": CLIENT_IP, "HTTP_USER_AGENT": BROWSER}
    assert (
        client.post("/login/", {"username": "alice", "password": "nope"}, **meta).status_code == 401
    )
    assert (
        client.post("/login/", {"username": "alice", "password": PASSWORD}, **meta).status_code
        == 200
    )
    assert client.get("/whoami/").content == b"alice"
    client.get("/logout/", **meta)
    failed, ok = LoginAttempt.objects.order_by("id")
    assert (failed.status, failed.ip_address, failed.user_agent) == (FAILED, CLIENT_IP, BROWSER)
    assert (ok.status, ok.ip_address, ok.user_id) == (SUCCESS, CLIENT_IP, user.pk)
    rows = AuditLog.objects.filter(action__in=["LOGIN", "LOGOUT", "LOGIN_FAILED"]).order_by("id")
    assert [(r.action, r.user_id) for r in rows] == [
        ("LOGIN_FAILED", None),
        ("LOGIN", user.pk),
        ("LOGOUT", user.pk),
    ]
    login_row = rows[1]
    assert (login_row.ip_address, login_row.context.route) == (CLIENT_IP, "login")
    # The attempt row and the AuditLog row of one request share one context.
    assert ok.context_id == login_row.context_id


def test_logout_without_a_logged_in_user_records_nothing(client: Any, db: None) -> None:
    client.logout()
    assert not AuditLog.objects.filter(action="LOGOUT").exists()


def test_username_comes_from_username_field() -> None:
    class EmailUser:
        USERNAME_FIELD = "email"

    assert credential_username({"email": "Ann@Example.com", "password": "x"}, EmailUser) == (
        "Ann@Example.com"
    )
    assert credential_username({"username": "ann", "email": "a@b.c"}, EmailUser) == "ann"
    assert credential_username({"token": "********"}, EmailUser) == ""
    assert credential_username({"email": 12345}, EmailUser) == "12345"
    assert credential_username({"username": "x" * 5000 + "\x00"}) == "x" * 253 + "…"


@override_settings(
    AUTHENTICATION_BACKENDS=["tests.events.support.EmailBackend"],
)
def test_email_logins(client: Any, user: Any) -> None:
    assert client.login(email="alice@example.com", password=PASSWORD)
    assert not client.login(email="alice@example.com", password="wrong")
    ok, failed = LoginAttempt.objects.order_by("id")
    assert (ok.status, ok.username) == (SUCCESS, "alice")
    assert (failed.status, failed.username) == (FAILED, "alice@example.com")


@events_urls
@override_settings(AUDIT_TRUSTED_PROXY_COUNT=1)
def test_forged_forwarded_for_gives_a_safe_record(client: Any, user: Any) -> None:
    client.post(
        "/login/",
        {"username": "alice", "password": "x"},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="<script>, not-an-ip",
        HTTP_USER_AGENT="U" * 5000,
    )
    attempt = LoginAttempt.objects.get()
    assert attempt.ip_address is None  # unknown, not the forged text and not a failed insert
    assert len(attempt.user_agent) == 512 and attempt.user_agent.endswith("…")
    client.post(
        "/login/",
        {"username": "alice", "password": "x"},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.9",
    )
    assert LoginAttempt.objects.latest("id").ip_address == "198.51.100.9"


def test_history_survives_deleting_the_user(client: Any, user: Any) -> None:
    assert client.login(username="alice", password=PASSWORD)
    user.delete()
    attempt = LoginAttempt.objects.get()
    assert attempt.username == "alice" and attempt.user_id is not None
    assert AuditLog.objects.filter(action="LOGIN").count() == 1


@override_settings(AUDIT_SKIP_ACTIONS=["LOGIN", "LOGIN_FAILED"])
def test_skip_actions_drop_the_audit_log_rows_only(client: Any, user: Any) -> None:
    assert client.login(username="alice", password=PASSWORD)
    assert authenticate(username="alice", password="bad") is None
    assert not AuditLog.objects.filter(action__in=["LOGIN", "LOGIN_FAILED"]).exists()
    assert LoginAttempt.objects.count() == 2


@override_settings(AUDIT_SKIP_MODELS=["pgaudit.LoginAttempt"])
def test_skip_models_drop_login_attempts(client: Any, user: Any) -> None:
    assert client.login(username="alice", password=PASSWORD)
    assert not LoginAttempt.objects.exists()
    assert AuditLog.objects.filter(action="LOGIN").exists()


def test_a_failing_audit_insert_never_breaks_a_login(
    client: Any, user: Any, failing_inserts: Any, caplog: Any
) -> None:
    failing_inserts("pgaudit_loginattempt", "true")
    assert client.login(username="alice", password=PASSWORD)
    assert "could not record SUCCESS login attempt" in caplog.text
    assert AuditLog.objects.filter(action="LOGIN").exists()


@events_urls
@override_settings(AUDIT_GEOIP_LOOKUP="tests.events.support.geo_lookup")
def test_pluggable_geo_lookup(client: Any, user: Any) -> None:
    for ip in ("198.51.100.20", "10.1.2.3", "192.0.2.200"):
        client.post("/login/", {"username": "alice", "password": "x"}, REMOTE_ADDR=ip)
    rows = list(LoginAttempt.objects.order_by("id").values_list("ip_address", "country", "city"))
    # 198.51.100.0/24 is documentation space, not "global": only public addresses are looked up.
    assert rows == [("198.51.100.20", "", ""), ("10.1.2.3", "", ""), ("192.0.2.200", "", "")]


@events_urls
def test_geo_lookup_for_public_addresses(client: Any, user: Any) -> None:
    with override_settings(AUDIT_GEOIP_LOOKUP="tests.events.support.geo_lookup_public"):
        client.post("/login/", {"username": "alice", "password": "x"}, REMOTE_ADDR="8.8.8.8")
    with override_settings(AUDIT_GEOIP_LOOKUP="tests.events.support.geo_lookup_broken"):
        response = client.post(
            "/login/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="8.8.4.4"
        )
    assert response.status_code == 200  # a broken geo source never breaks the login
    rows = list(LoginAttempt.objects.order_by("id").values_list("country", "city"))
    assert rows == [("US", "Mountain View"), ("", "")]


@needs_async_auth
@pytest.mark.django_db(transaction=True)
def test_async_authenticate_failure_is_recorded_once() -> None:
    get_user_model().objects.create_user("bob", password=PASSWORD)
    assert run_async(aauthenticate(username="bob", password="wrong")) is None
    assert list(LoginAttempt.objects.values_list("status", "username")) == [(FAILED, "bob")]
    assert AuditLog.objects.filter(action="LOGIN_FAILED").count() == 1
