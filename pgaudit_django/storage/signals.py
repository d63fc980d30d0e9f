"""After ``migrate``: partitions ahead of time, and the test-database TRUNCATE allowance.

``post_migrate`` is sent once per installed app; the handler acts on pgaudit's own signal only.
Django also sends it after ``flush`` (between TransactionTestCase tests), where it costs one
catalog query when every partition exists already.
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from django.db.models.signals import post_migrate

from pgaudit_django import conf

DISPATCH_UID = "pgaudit_django.storage.after_migrate"


def after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    if getattr(sender, "label", None) != "pgaudit":
        return
    from pgaudit_django.storage import partitions, testing

    connection = connections[using]
    if connection.vendor != "postgresql" or not partitions.installed(connection):
        return  # migrated backwards past 0003, or pgaudit's migrations not applied here
    testing.sync(connection)
    if conf.storage().partitions_on_migrate:
        created = partitions.ensure(connection)
        verbosity = kwargs.get("verbosity", 1)
        if created and verbosity >= 1:
            stdout = kwargs.get("stdout")
            for item in created:
                line = f"  pgaudit: created partition {item.name}"
                if item.moved_rows:
                    line += f" ({item.moved_rows} rows moved from the DEFAULT partition)"
                if stdout is not None:
                    stdout.write(line + "\n")
                else:
                    print(line)


def connect() -> None:
    """Called from ``PgAuditConfig.ready()``."""
    post_migrate.connect(after_migrate, dispatch_uid=DISPATCH_UID)
