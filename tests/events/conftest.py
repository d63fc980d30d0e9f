"""Fixtures of the event tests: users, requests, and a way to make an audit insert fail."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection, connections
from django.http import HttpRequest
from django.test import RequestFactory

T = TypeVar("T")

PASSWORD = "correct horse battery"
CLIENT_IP = "203.0.113.7"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"

EVENTS_URLS = "tests.events.urls"
BASE_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "pgaudit_django.middleware.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
SECURITY_MIDDLEWARE = [*BASE_MIDDLEWARE, "pgaudit_django.middleware.SecurityAuditMiddleware"]


@pytest.fixture
def user(db: None) -> Any:
    return get_user_model().objects.create_user("alice", "alice@example.com", PASSWORD)


@pytest.fixture
def make_request(db: None) -> Callable[..., HttpRequest]:
    factory = RequestFactory()

    def make(path: str = "/somewhere/", user: Any = None, **meta: Any) -> HttpRequest:
        meta.setdefault("REMOTE_ADDR", CLIENT_IP)
        meta.setdefault("HTTP_USER_AGENT", BROWSER)
        request = factory.get(path, **meta)
        request.session = SessionStore()
        if user is not None:
            request.user = user
        else:
            from django.contrib.auth.models import AnonymousUser

            request.user = AnonymousUser()
        return request

    return make


@pytest.fixture
def failing_inserts(db: None) -> Iterator[Callable[[str, str], None]]:
    """Make INSERTs into an audit table fail in PostgreSQL when a column has a given value.

    A real database error (not a mock): the trigger raises, the way a full disk, a missing
    partition or a check violation would.
    """
    created: list[str] = []

    def fail(table: str, condition: str) -> None:
        name = f"pgaudit_test_fail_{table}"
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'simulated audit failure'; END $$;
                CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW
                WHEN ({condition}) EXECUTE FUNCTION {name}();
                """
            )
        created.append(table)

    yield fail
    with connection.cursor() as cursor:
        for table in created:
            name = f"pgaudit_test_fail_{table}"
            cursor.execute(
                f"DROP TRIGGER IF EXISTS {name} ON {table}; DROP FUNCTION IF EXISTS {name}()"
            )


def run_async(awaitable: Awaitable[T]) -> T:
    """Run a coroutine, then close the connections its sync_to_async thread opened (the test
    client keeps Django from closing them, and an open one blocks dropping the test database)."""

    async def run() -> T:
        try:
            return await awaitable
        finally:
            await sync_to_async(connections.close_all)()

    return asyncio.run(run())
