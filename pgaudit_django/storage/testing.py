"""The one exception to append-only: Django's test framework emptying a *test* database.

``TransactionTestCase`` (and pytest-django's ``transactional_db``) empties every table between
tests with ``TRUNCATE``, which the guard triggers refuse. The allowance is a row in the owner's
private table ``pgaudit_test_mode`` keyed by database name (sql/0003_storage.sql); it is
written only when *both* hold:

* ``AUDIT_ALLOW_TRUNCATE_FOR_TESTS`` is true (the default; set it to False to test the guard
  itself, or to forbid it in a project's tests), and
* Django's test environment is set up (``django.test.utils.setup_test_environment()``, which the
  test runner and pytest-django call before creating test databases; it creates
  ``django.core.mail.outbox``).

A production ``migrate`` never runs inside a test environment, so a production database never
gets the row, whatever the settings say. Only TRUNCATE is let through, never UPDATE or DELETE.
"""

from __future__ import annotations

from typing import Any

from django.core import mail

from pgaudit_django import conf


def in_test_environment() -> bool:
    return hasattr(mail, "outbox")


def wanted() -> bool:
    return conf.storage().allow_truncate_for_tests and in_test_environment()


def set_test_truncate(connection: Any, on: bool) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pgaudit_allow_test_truncate(%s)", [on])


def test_truncate_allowed(connection: Any) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_regclass('pgaudit_test_mode') IS NOT NULL "
            "AND has_table_privilege('pgaudit_test_mode', 'SELECT')"
        )
        if not cursor.fetchone()[0]:
            return False
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pgaudit_test_mode "
            "WHERE database_name = current_database())"
        )
        return bool(cursor.fetchone()[0])


def sync(connection: Any) -> None:
    """Inside a test run, make the database's allowance match the setting."""
    if in_test_environment():
        set_test_truncate(connection, conf.storage().allow_truncate_for_tests)
