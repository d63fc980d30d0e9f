"""Versioned SQL files read by the library's migrations; never edited after a release."""

from __future__ import annotations

from pathlib import Path

from django.db.backends.base.base import BaseDatabaseWrapper

SQL_DIR = Path(__file__).parent


def render(name: str, connection: BaseDatabaseWrapper, user_pk_type: str) -> str:
    """The file with the user pk's column type and the (quoted) schema of the audit tables."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT quote_ident(current_schema())")
        schema = cursor.fetchone()[0]
    return (
        (SQL_DIR / name)
        .read_text()
        .replace("{user_pk_type}", user_pk_type)
        .replace("{schema}", schema)
    )
