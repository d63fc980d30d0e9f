"""A database router that sends reads of the audit models to a replica.

::

    DATABASES = {"default": {...}, "replica": {...}}     # a streaming replica of "default"
    DATABASE_ROUTERS = ["pgaudit_django.storage.routers.AuditReadRouter"]
    AUDIT_READ_DATABASE = "replica"

The admin's lists, filters and history pages and the summaries then read from the replica;
every write (the triggers', the ORM events', ``mark_resolved`` of an event read from the
replica) goes to the primary ("default"), the only place where audit rows can be written.
A replica lags by a moment: a row written now may show up there a little later. Without
``AUDIT_READ_DATABASE`` the router has no opinion.
"""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS

from pgaudit_django import conf

AUDIT_APP_LABEL = "pgaudit"
PRIMARY = DEFAULT_DB_ALIAS  # where audit rows are written


def _is_audit(model: Any) -> bool:
    return getattr(getattr(model, "_meta", None), "app_label", None) == AUDIT_APP_LABEL


class AuditReadRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        if _is_audit(model):
            return conf.storage().read_database
        return None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        # Django saves an object where it was read from unless a router says otherwise: a
        # SystemEvent read from the replica and resolved must be written to the primary.
        if not _is_audit(model):
            return None
        read = conf.storage().read_database
        instance = hints.get("instance")
        if read is not None and getattr(getattr(instance, "_state", None), "db", None) == read:
            return PRIMARY
        return None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # Audit rows point at users and content types (no database constraints): the replica
        # holds the same rows as the primary, so these relations are fine across aliases.
        if _is_audit(obj1) or _is_audit(obj2):
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        if app_label == AUDIT_APP_LABEL and db == conf.storage().read_database:
            return False  # a replica is read-only: its schema comes from the primary
        return None
