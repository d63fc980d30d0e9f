from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.backends.signals import connection_created


def _install_wrapper(sender: Any, connection: Any, **kwargs: Any) -> None:
    from pgaudit_django.db.wrapper import install

    install(connection)


class PgAuditConfig(AppConfig):
    name = "pgaudit_django"
    label = "pgaudit"
    verbose_name = "Audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from pgaudit_django import checks  # noqa: F401  (registers the system checks)
        from pgaudit_django.capture.migration_support import (
            patch_autodetector,
            patch_migration_context,
        )
        from pgaudit_django.db.wrapper import install

        patch_autodetector()
        patch_migration_context()
        connection_created.connect(_install_wrapper, dispatch_uid="pgaudit_django.wrapper")
        # Connections opened before ready() (rare: a settings-time query) get it too.
        for connection in connections.all(initialized_only=True):
            install(connection)
        self._connect_events()
        from pgaudit_django.storage.signals import connect as connect_storage

        connect_storage()  # migrate creates the months ahead

    def _connect_events(self) -> None:
        """ORM-side events (logins, …) hook in here once they exist."""
        try:
            from pgaudit_django.events import connect
        except ImportError:
            return
        connect()
