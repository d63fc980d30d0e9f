"""The execute wrapper is invisible to the caller on every path it takes (issue 18 item 3).

Each scenario runs twice on fresh rows: once with the wrapper removed from the connection and
once inside ``context(user=…)``, and everything a caller can observe on the cursor must be the
same: ``rowcount``, ``description``, ``fetch*``, ``statusmessage``, ``lastrowid`` and notices.
Paths: psycopg 3 client-side binding (prefix + nextset; ``executemany`` goes through a
pipeline), psycopg 3 server-side binding (pipeline for everything) and psycopg2 (prefix).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.backends.postgresql.psycopg_any import is_psycopg3

import pgaudit_django
from pgaudit_django.db.wrapper import PIPELINE, audit_execute_wrapper, strategy_for
from pgaudit_django.models import AuditLog
from tests.testapp.models import Customer

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def _without_wrapper(wrapper: Any) -> Iterator[None]:
    wrapper.ensure_connection()  # connecting installs the wrapper: connect first, then remove it
    saved = list(wrapper.execute_wrappers)
    wrapper.execute_wrappers[:] = [w for w in saved if w is not audit_execute_wrapper]
    try:
        yield
    finally:
        wrapper.execute_wrappers[:] = saved


@contextmanager
def _notices(wrapper: Any) -> Iterator[list[str]]:
    wrapper.ensure_connection()
    raw = wrapper.connection
    seen: list[str] = []
    if is_psycopg3:

        def handler(diag: Any) -> None:
            seen.append(diag.message_primary)

        raw.add_notice_handler(handler)
        try:
            yield seen
        finally:
            raw.remove_notice_handler(handler)
    else:
        del raw.notices[:]
        yield seen
        seen.extend(n.strip() for n in raw.notices)


def _outcome(call: Callable[[], Any]) -> Any:
    try:
        return ("ok", call())
    except Exception as exc:  # the kind of error a caller would get is part of what it sees
        return ("error", type(exc).__name__)


def _observe(cursor: Any, pks: list[int]) -> dict[str, Any]:
    raw = cursor.cursor
    relative = {pk: f"pk{i}" for i, pk in enumerate(pks)}

    def norm(rows: Any) -> Any:
        if not isinstance(rows, (list, tuple)):
            return rows
        return [tuple(relative.get(v, v) for v in row) for row in rows]

    observed = {
        "rowcount": cursor.rowcount,
        "description": [d[0] for d in cursor.description] if cursor.description else None,
        "statusmessage": getattr(raw, "statusmessage", None),
        "lastrowid": getattr(raw, "lastrowid", "n/a"),
    }
    observed["fetchall"] = _outcome(lambda: norm(cursor.fetchall()))
    return observed


def _scenario(wrapper: Any) -> list[dict[str, Any]]:
    pks = [Customer.objects.using(wrapper.alias).create(name=f"t{i}").pk for i in range(3)]
    observations = []
    with _notices(wrapper) as notices, wrapper.cursor() as cursor:
        cursor.executemany(
            "UPDATE testapp_customer SET name = %s WHERE id = %s",
            [[f"many{i}", pk] for i, pk in enumerate(pks)],
        )
        observations.append(_observe(cursor, pks))
        cursor.executemany(
            "INSERT INTO testapp_customer (name, email, iban) VALUES (%s, '', '')",
            [["ins-a"], ["ins-b"]],
        )
        observations.append(_observe(cursor, pks))
        cursor.execute("UPDATE testapp_customer SET email = 'e@x' WHERE id = ANY(%s)", [pks])
        observations.append(_observe(cursor, pks))
        cursor.execute("UPDATE testapp_customer SET email = 'none' WHERE id = -1")
        observations.append(_observe(cursor, pks))
        cursor.execute(
            "UPDATE testapp_customer SET iban = 'X' WHERE id = ANY(%s) RETURNING id, iban",
            [pks[:2]],
        )
        observations.append(_observe(cursor, pks))
        cursor.execute(
            "INSERT INTO testapp_customer (name, email, iban) VALUES ('lit 100%', '', '') "
            "RETURNING name"
        )
        observations.append(_observe(cursor, pks))
        cursor.execute("DO $$ BEGIN RAISE NOTICE 'from the caller'; END $$")
        observations.append(_observe(cursor, pks))
        cursor.execute("SELECT name FROM testapp_customer WHERE id = %s", [pks[0]])
        observations.append(_observe(cursor, pks))
    observations.append({"notices": list(notices)})
    return observations


def _compare(wrapper: Any) -> None:
    user = User.objects.create_user(f"transparent-{wrapper.alias}")
    with _without_wrapper(wrapper):
        expected = _scenario(wrapper)
    since = AuditLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with pgaudit_django.context(user=user):
        seen = _scenario(wrapper)
    assert seen == expected
    # The comparison is only meaningful if the wrapper did attribute those writes.
    attributed = AuditLog.objects.filter(
        id__gt=since, content_type=ContentType.objects.get_for_model(Customer)
    )
    assert attributed.filter(action="UPDATE").count() >= 6
    assert set(attributed.values_list("user_id", flat=True)) == {user.pk}


def test_default_connection_is_transparent():
    _compare(connection)


@pytest.fixture
def server_side_connection() -> Iterator[Any]:
    if not is_psycopg3:
        pytest.skip("server_side_binding is a psycopg 3 option")
    from django.db.backends.postgresql.base import DatabaseWrapper

    settings_dict = {
        **connection.settings_dict,
        "OPTIONS": {**connection.settings_dict["OPTIONS"], "server_side_binding": True},
    }
    wrapper = DatabaseWrapper(settings_dict, alias="default")
    yield wrapper
    wrapper.close()


def test_server_side_binding_pipeline_is_transparent(server_side_connection):
    assert strategy_for(server_side_connection) == PIPELINE
    _compare(server_side_connection)


def test_executemany_rowcount_counts_only_the_callers_statements(server_side_connection):
    customers = [Customer.objects.create(name=f"rc{i}") for i in range(3)]
    with pgaudit_django.context(user=None), server_side_connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE testapp_customer SET name = %s WHERE id = %s",
            [["x", c.pk] for c in customers],
        )
        assert cursor.rowcount == 3
