"""Versioned SQL files read by the library's migrations; never edited after a release."""

from __future__ import annotations

from pathlib import Path

from django.db.backends.base.base import BaseDatabaseWrapper

SQL_DIR = Path(__file__).parent


def render(name: str, connection: BaseDatabaseWrapper, user_pk_type: str) -> str:
    return (SQL_DIR / name).read_text().replace("{user_pk_type}", user_pk_type)
