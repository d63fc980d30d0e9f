"""AUDIT_LOCKOUT with LockoutBackend: exact limits, per username and per IP, under concurrency."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import django
import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.test import RequestFactory, override_settings
from django.utils import timezone

from pgaudit_django import conf
from pgaudit_django.events import lockout
from pgaudit_django.events.checks import check_events
from pgaudit_django.models import AuditLog, LoginAttempt
from tests.events.conftest import BASE_MIDDLEWARE, EVENTS_URLS, PASSWORD, run_async

if django.VERSION >= (5, 0):
    from django.contrib.auth import aauthenticate
needs_async_auth = pytest.mark.skipif(
    django.VERSION < (5, 0), reason="django.contrib.auth.aauthenticate needs Django 5.0"
)

LOCKOUT_BACKEND = "pgaudit_django.events.auth.LockoutBackend"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
BACKENDS = [LOCKOUT_BACKEND, MODEL_BACKEND]
BLOCKED, FAILED, SUCCESS = "BLOCKED", "FAILED", "SUCCESS"


def by_username(failures: int = 3) -> Any:
    return override_settings(
        AUDIT_LOCKOUT={"failures": failures, "window": 900, "by": ["username"]},
        AUTHENTICATION_BACKENDS=BACKENDS,
    )


def attempt(username: str, password: str, ip: str | None = "203.0.113.50") -> Any:
    request = RequestFactory().post("/login/", REMOTE_ADDR=ip) if ip else None
    return authenticate(request, username=username, password=password)


def statuses() -> list[str]:
    return list(LoginAttempt.objects.order_by("id").values_list("status", flat=True))


# --- settings --------------------------------------------------------------------------------


def test_lockout_is_off_by_default() -> None:
    assert conf.events().lockout is None


@pytest.mark.parametrize(
    "value, message",
    [
        ({"failures": 0}, "positive integer"),
        ({"window": "15m"}, "positive integer"),
        ({"by": "username"}, "non-empty list"),
        ({"by": ["email"]}, "accepts"),
        ({"tries": 3}, "unknown keys"),
        (5, "must be None or a dict"),
    ],
)
def test_bad_lockout_settings_are_reported(value: Any, message: str) -> None:
    with override_settings(AUDIT_LOCKOUT=value), pytest.raises(ImproperlyConfigured, match=message):
        conf.events()


def test_system_checks_for_a_lockout_nothing_enforces() -> None:
    policy = {"failures": 3, "window": 60}
    with override_settings(AUDIT_LOCKOUT=policy, AUTHENTICATION_BACKENDS=[MODEL_BACKEND]):
        assert [m.id for m in check_events()] == ["pgaudit.E402"]
    with override_settings(
        AUDIT_LOCKOUT=policy, AUTHENTICATION_BACKENDS=[MODEL_BACKEND, LOCKOUT_BACKEND]
    ):
        assert [m.id for m in check_events()] == ["pgaudit.W403"]
    with override_settings(AUDIT_LOCKOUT=policy, AUTHENTICATION_BACKENDS=BACKENDS):
        assert check_events() == []
    with override_settings(AUDIT_LOCKOUT={"failures": -1}):
        assert [m.id for m in check_events()] == ["pgaudit.E401"]
    assert "pgaudit.E402" not in {m.id for m in checks.run_checks()}


# --- behaviour -------------------------------------------------------------------------------


@by_username(failures=3)
def test_attempts_beyond_the_limit_are_blocked_without_checking_the_password(user: Any) -> None:
    for _ in range(3):
        assert attempt("alice", "wrong") is None
    assert attempt("alice", PASSWORD) is None  # even the right password
    assert statuses() == [FAILED, FAILED, FAILED, BLOCKED]  # one row per attempt, no duplicates
    blocked = LoginAttempt.objects.latest("id")
    assert (blocked.failure_reason, blocked.user_id) == ("locked out (username)", user.pk)
    audit = AuditLog.objects.filter(action="LOGIN_FAILED").order_by("id")
    assert [row.changes["status"] for row in audit] == [FAILED, FAILED, FAILED, BLOCKED]
    # Another account is not affected.
    get_user_model().objects.create_user("bob", password=PASSWORD)
    assert attempt("bob", PASSWORD) is not None


@by_username(failures=3)
def test_username_counter_ignores_case(user: Any) -> None:
    for name in ("Alice", "ALICE", "alice"):
        attempt(name, "wrong")
    assert attempt("aLiCe", PASSWORD) is None
    assert statuses()[-1] == BLOCKED


@by_username(failures=3)
def test_a_successful_login_resets_the_username_counter(client: Any, user: Any) -> None:
    attempt("alice", "wrong")
    attempt("alice", "wrong")
    assert client.login(username="alice", password=PASSWORD)  # records SUCCESS
    attempt("alice", "wrong")
    attempt("alice", "wrong")
    assert attempt("alice", PASSWORD) is not None
    assert statuses() == [FAILED, FAILED, SUCCESS, FAILED, FAILED]


@by_username(failures=2)
def test_failures_older_than_the_window_do_not_count(user: Any) -> None:
    old = timezone.now() - timedelta(seconds=901)
    for _ in range(5):
        LoginAttempt.objects.create(username="alice", status=FAILED, timestamp=old)
    assert attempt("alice", PASSWORD) is not None
    LoginAttempt.objects.create(username="alice", status=FAILED)
    LoginAttempt.objects.create(username="alice", status=FAILED)
    assert attempt("alice", PASSWORD) is None


@override_settings(
    AUDIT_LOCKOUT={"failures": 3, "window": 900, "by": ["ip"]}, AUTHENTICATION_BACKENDS=BACKENDS
)
def test_ip_counter_spans_usernames_and_is_not_reset_by_success(client: Any, user: Any) -> None:
    for name in ("x1", "x2"):
        attempt(name, "wrong", ip="198.51.100.1")
    assert attempt("alice", PASSWORD, ip="198.51.100.1") is not None  # no login(): no reset
    attempt("x3", "wrong", ip="198.51.100.1")
    assert attempt("alice", PASSWORD, ip="198.51.100.1") is None
    assert LoginAttempt.objects.latest("id").failure_reason == "locked out (ip)"
    assert attempt("alice", PASSWORD, ip="198.51.100.2") is not None
    # Without a request there is no address to count: only the other backends decide.
    assert attempt("alice", PASSWORD, ip=None) is not None


@by_username()
@override_settings(ROOT_URLCONF=EVENTS_URLS, MIDDLEWARE=BASE_MIDDLEWARE)
def test_sessions_of_users_logged_in_through_the_lockout_backend(client: Any, user: Any) -> None:
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    assert client.session["_auth_user_backend"] == LOCKOUT_BACKEND
    assert client.get("/whoami/").content == b"alice"  # LockoutBackend.get_user delegates


@override_settings(AUDIT_LOCKOUT=None, AUTHENTICATION_BACKENDS=BACKENDS)
def test_lockout_backend_steps_aside_when_lockout_is_off(user: Any) -> None:
    for _ in range(10):
        attempt("alice", "wrong")
    assert attempt("alice", PASSWORD) is not None
    assert statuses() == [FAILED] * 10


@by_username(failures=2)
def test_unknown_usernames_are_locked_out_too(db: None) -> None:
    for _ in range(3):
        attempt("ghost", "x")
    assert statuses() == [FAILED, FAILED, BLOCKED]
    assert LoginAttempt.objects.filter(failure_reason="unknown user").count() == 2


def test_status_constants_match_the_model() -> None:
    from pgaudit_django.events import auth

    assert {auth.SUCCESS, auth.FAILED, auth.BLOCKED} == set(LoginAttempt.Status.values)
    assert (lockout.SUCCESS, lockout.FAILED) == (auth.SUCCESS, auth.FAILED)


def test_lock_keys_are_sorted_and_namespaced() -> None:
    policy = conf.LockoutPolicy(failures=1, window=1, by=frozenset({"username", "ip"}))
    assert lockout.lock_keys(policy, " Bob ", "::1") == ["ip:::1", "u:bob"]
    assert lockout.lock_keys(policy, "", None) == []


# --- concurrency -----------------------------------------------------------------------------


def _concurrent_attempts(count: int, ip_for: Any, username_for: Any) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = [object()] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = attempt(username_for(index), f"guess-{index}", ip=ip_for(index))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()  # each thread opened its own connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


@pytest.mark.django_db(transaction=True)
@override_settings(
    AUDIT_LOCKOUT={"failures": 5, "window": 900, "by": ["username", "ip"]},
    AUTHENTICATION_BACKENDS=BACKENDS,
    PASSWORD_HASHERS=["tests.events.support.SlowHasher"],
)
@pytest.mark.parametrize("shared", ["username", "ip"])
def test_concurrent_attempts_beyond_the_limit_are_all_blocked(shared: str) -> None:
    get_user_model().objects.create_user("victim", password=PASSWORD)
    started = time.monotonic()
    results = _concurrent_attempts(
        20,
        # Either many addresses against one account, or one address against many accounts.
        ip_for=(lambda i: f"198.51.100.{i + 1}")
        if shared == "username"
        else (lambda i: "192.0.2.1"),
        username_for=(lambda i: "victim") if shared == "username" else (lambda i: f"user{i}"),
    )
    elapsed = time.monotonic() - started
    assert all(result is None for result in results)
    counts = Counter(LoginAttempt.objects.values_list("status", flat=True))
    assert counts == {FAILED: 5, BLOCKED: 15}, (counts, elapsed)


@needs_async_auth
@pytest.mark.django_db(transaction=True)
@by_username(failures=2)
def test_async_authenticate_is_locked_out_too() -> None:
    get_user_model().objects.create_user("carol", password=PASSWORD)
    results = [run_async(aauthenticate(username="carol", password="wrong")) for _ in range(3)]
    assert results == [None, None, None]
    assert run_async(aauthenticate(username="carol", password=PASSWORD)) is None
    assert statuses() == [FAILED, FAILED, BLOCKED, BLOCKED]  # each recorded exactly once
    assert AuditLog.objects.filter(action="LOGIN_FAILED").count() == 4
