"""System events: the log_system_event API, exceptions, slow requests, the logging handler."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from pgaudit_django.events.system import EVENT_TYPES, SystemEventHandler
from pgaudit_django.models import SystemEvent
from pgaudit_django.utils import log_system_event
from tests.events import support
from tests.events.conftest import BASE_MIDDLEWARE, BROWSER, CLIENT_IP, EVENTS_URLS, run_async
from tests.testapp.models import Customer

events_urls = override_settings(ROOT_URLCONF=EVENTS_URLS, MIDDLEWARE=BASE_MIDDLEWARE)


def test_log_system_event_writes_all_fields(user: Any, make_request: Any) -> None:
    event = log_system_event(
        event_type="info",
        title="Custom Event",
        description="Something important happened\non two lines",
        user=user,
        request=make_request("/reports/", user=user),
        module="billing.jobs",
        function_name="close_month",
        line_number=42,
        error_code="E-17",
        stack_trace="Traceback ...",
    )
    assert event is not None
    stored = SystemEvent.objects.select_related("context").get(pk=event.pk)
    assert stored.event_type == "INFO"
    assert stored.description == "Something important happened\non two lines"
    assert (stored.module, stored.function_name, stored.line_number) == (
        "billing.jobs",
        "close_month",
        42,
    )
    assert (stored.error_code, stored.stack_trace) == ("E-17", "Traceback ...")
    assert (stored.user_id, stored.username) == (user.pk, "alice")
    assert (stored.ip_address, stored.user_agent, stored.path) == (CLIENT_IP, BROWSER, "/reports/")
    assert stored.resolved is False
    # Linked to the request's audit context, like the AuditLog rows of the same request.
    assert stored.context is not None and stored.context.path == "/reports/"


def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="event_type must be one of"):
        log_system_event(event_type="FATAL", title="x")
    with pytest.raises(ValueError, match="title must not be empty"):
        log_system_event(event_type="INFO", title="")
    with pytest.raises(TypeError, match="line_number"):
        log_system_event(event_type="INFO", title="x", line_number="12")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="details must be JSON"):
        log_system_event(event_type="INFO", title="x", details={"s": {1, 2}})


@pytest.mark.django_db
def test_client_text_is_truncated_and_cleaned(make_request: Any) -> None:
    request = make_request(HTTP_USER_AGENT="Evil/1.0 " + "A" * 10_000)
    event = log_system_event(
        event_type="WARNING",
        title="T" * 1000,
        description="before\x00after " + "d" * 50_000,
        request=request,
        stack_trace="\n".join(f"frame {i}" for i in range(20_000)),
    )
    assert event is not None
    stored = SystemEvent.objects.get(pk=event.pk)
    assert len(stored.title) == 255 and stored.title.endswith("…")
    assert len(stored.user_agent) == 512 and stored.user_agent.endswith("…")
    assert "\x00" not in stored.description and stored.description.startswith("beforeafter")
    assert "[truncated]" in stored.description and len(stored.description) <= 20_000
    # Head and tail of a long stack trace are kept: the tail names the failing frame.
    assert stored.stack_trace.startswith("frame 0") and stored.stack_trace.endswith("frame 19999")


def test_mark_resolved(user: Any) -> None:
    event = log_system_event(event_type="ERROR", title="Disk full")
    assert event is not None
    event.mark_resolved(user=user, notes="Added a disk")
    stored = SystemEvent.objects.get(pk=event.pk)
    assert stored.resolved and stored.resolved_at is not None
    assert (stored.resolved_by_id, stored.resolved_by_username) == (user.pk, "alice")
    assert stored.resolution_notes == "Added a disk"
    other = log_system_event(event_type="ERROR", title="Other")
    assert other is not None
    other.mark_resolved()
    stored = SystemEvent.objects.get(pk=other.pk)
    assert stored.resolved and stored.resolved_by_id is None and stored.resolved_by_username == ""


@override_settings(AUDIT_SKIP_MODELS=["pgaudit.SystemEvent"])
@pytest.mark.django_db
def test_skip_models_can_switch_system_events_off() -> None:
    assert log_system_event(event_type="INFO", title="skipped") is None
    assert not SystemEvent.objects.exists()


# --- AuditMiddleware: exceptions and slow requests -------------------------------------------


@events_urls
def test_unhandled_exception_becomes_an_error_event(client: Any, user: Any) -> None:
    client.raise_request_exception = False
    client.force_login(user)
    response = client.get("/boom/", REMOTE_ADDR=CLIENT_IP)
    assert response.status_code == 500
    event = SystemEvent.objects.get(event_type="ERROR")
    assert event.title == "RuntimeError: kaboom in a view"
    assert event.error_code == "RuntimeError"
    assert (event.module, event.function_name) == ("tests.events.support", "boom")
    source = Path(support.__file__).read_text().splitlines()
    assert event.line_number is not None and "kaboom" in source[event.line_number - 1]
    assert "Traceback (most recent call last)" in event.stack_trace
    assert (event.user_id, event.ip_address, event.path) == (user.pk, CLIENT_IP, "/boom/")
    assert event.details == {"exception": "builtins.RuntimeError"}


@events_urls
@pytest.mark.django_db
@pytest.mark.parametrize("path, status", [("/missing/", 404), ("/denied/", 403)])
def test_404_and_403_are_not_errors(client: Any, path: str, status: int) -> None:
    assert client.get(path).status_code == status
    assert not SystemEvent.objects.exists()


@events_urls
@override_settings(AUDIT_SLOW_REQUEST_SECONDS=0.1)
@pytest.mark.django_db
def test_slow_request_becomes_a_performance_event(client: Any) -> None:
    assert client.get("/slow/?s=0").status_code == 200
    assert not SystemEvent.objects.exists()
    assert client.get("/slow/?s=0.15").status_code == 200
    event = SystemEvent.objects.get()
    assert event.event_type == "PERFORMANCE"
    assert event.title.startswith("Slow request: GET /slow/ took ")
    assert event.details["status"] == 200 and event.details["threshold_ms"] == 100
    assert event.details["duration_ms"] >= 150


@events_urls
@override_settings(AUDIT_SLOW_REQUEST_SECONDS=None)
@pytest.mark.django_db
def test_slow_request_events_can_be_switched_off(client: Any) -> None:
    client.get("/slow/?s=0.05")
    assert not SystemEvent.objects.exists()


@events_urls
@override_settings(AUDIT_SLOW_REQUEST_SECONDS=0.1)
@pytest.mark.django_db(transaction=True)
def test_slow_async_request(async_client: Any) -> None:
    response = run_async(async_client.get("/slow-async/?s=0.15"))
    assert response.status_code == 200
    assert SystemEvent.objects.get().event_type == "PERFORMANCE"


@events_urls
def test_failed_audit_insert_never_breaks_an_atomic_request(
    client: Any, failing_inserts: Any, monkeypatch: Any, caplog: Any
) -> None:
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    failing_inserts("pgaudit_systemevent", "NEW.title = 'FAIL ME'")
    response = client.get("/write-then-audit/?title=FAIL ME")
    assert response.status_code == 200 and response.content == b"no-event"
    # Both business writes of the request's transaction were kept.
    assert set(Customer.objects.values_list("name", flat=True)) == {"before-audit", "after-audit"}
    assert "could not record INFO system event" in caplog.text
    assert client.get("/write-then-audit/?title=fine").content == b"event"


# --- logging handler -------------------------------------------------------------------------


@pytest.fixture
def audit_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("tests.events.app")
    handler = SystemEventHandler()
    logger.addHandler(handler)
    yield logger
    logger.removeHandler(handler)


@pytest.mark.django_db
def test_logging_handler_stores_warnings_and_errors(audit_logger: logging.Logger) -> None:
    audit_logger.info("only info")
    audit_logger.warning("disk at %d%%", 91)
    try:
        raise ValueError("bad value")
    except ValueError:
        audit_logger.exception("import failed")
    warning, error = SystemEvent.objects.order_by("id")
    assert (warning.event_type, warning.title) == ("WARNING", "disk at 91%")
    assert warning.module == "tests.events.app"
    assert warning.function_name == "test_logging_handler_stores_warnings_and_errors"
    assert warning.details == {"logger": "tests.events.app", "level": "WARNING"}
    assert error.event_type == "ERROR" and "ValueError: bad value" in error.stack_trace


@pytest.mark.django_db
def test_logging_handler_never_feeds_itself() -> None:
    """SQL debug logging of the handler's own INSERT must not be stored (or recurse)."""
    handler = SystemEventHandler(level=logging.DEBUG)
    sql_logger = logging.getLogger("django.db.backends")
    own_logger = logging.getLogger("pgaudit_django.events")
    old_level = sql_logger.level
    sql_logger.addHandler(handler)
    own_logger.addHandler(handler)
    sql_logger.setLevel(logging.DEBUG)
    connection.force_debug_cursor = True
    try:
        sql_logger.warning("a warning from the SQL logger")
        own_logger.error("pgaudit's own failure report")
    finally:
        connection.force_debug_cursor = False
        sql_logger.setLevel(old_level)
        sql_logger.removeHandler(handler)
        own_logger.removeHandler(handler)
    assert list(SystemEvent.objects.values_list("title", flat=True)) == [
        "a warning from the SQL logger"
    ]


@events_urls
@pytest.mark.django_db
def test_error_logged_by_django_is_not_stored_twice(client: Any) -> None:
    client.raise_request_exception = False
    handler = SystemEventHandler()
    django_request = logging.getLogger("django.request")
    django_request.addHandler(handler)
    try:
        assert client.get("/boom/").status_code == 500
        assert client.get("/missing/").status_code == 404
    finally:
        django_request.removeHandler(handler)
    # The middleware's ERROR event; Django's "Internal Server Error" record is not repeated.
    # The 404 is logged by Django as a WARNING, which LOGGING routed here on purpose.
    assert sorted(SystemEvent.objects.values_list("event_type", "title")) == [
        ("ERROR", "RuntimeError: kaboom in a view"),
        ("WARNING", "Not Found: /missing/"),
    ]


@pytest.mark.django_db(transaction=True)
def test_logging_handler_inside_an_event_loop(audit_logger: logging.Logger) -> None:
    async def work() -> None:
        audit_logger.warning("from a coroutine")

    asyncio.run(work())
    assert SystemEvent.objects.get().title == "from a coroutine"


@events_urls
@pytest.mark.django_db(transaction=True)
def test_exception_in_an_async_view(async_client: Any) -> None:
    async_client.raise_request_exception = False
    response = run_async(async_client.get("/boom-async/"))
    assert response.status_code == 500
    event = SystemEvent.objects.get()
    assert (event.event_type, event.title, event.function_name) == (
        "ERROR",
        "ValueError: async kaboom",
        "boom_async",
    )


def test_event_types_match_the_model() -> None:
    assert set(EVENT_TYPES) == set(SystemEvent.EventType.values)


def test_handler_can_be_configured_before_django_is_set_up() -> None:
    """LOGGING is applied before the app registry loads: the handler's module must import
    without models, and records logged that early are ignored rather than crashing."""
    script = (
        "import logging.config\n"
        "logging.config.dictConfig({'version': 1, 'handlers': {'audit': {'class': "
        "'pgaudit_django.events.system.SystemEventHandler'}}, 'root': {'handlers': ['audit']}})\n"
        "logging.getLogger('early').warning('before setup')\n"
        "import django\n"
        "django.setup()\n"
        "print('ready')\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ready"
