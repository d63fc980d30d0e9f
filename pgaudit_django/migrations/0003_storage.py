"""Storage for years of audit data (docs/operations.md).

* append-only: guard triggers refusing UPDATE/DELETE/TRUNCATE on every audit table (resolution
  and download columns of the event tables excepted), with maintenance tokens for retention;
* least privilege: pgaudit_context() and pgaudit_note_bypass() become SECURITY DEFINER;
* partitions: functions creating them ahead, and the partitions of this period and the next
  AUDIT_PARTITION_MONTHS_AHEAD months right away (rows already in DEFAULT are moved);
* retention: functions detaching and dropping whole partitions;
* tamper detection: an event trigger recording DDL on audit objects, created when the
  migrating role is a superuser (otherwise a manual step, printed here).

The SQL lives in pgaudit_django/sql/0003_storage.sql, 0003_partitions.sql, 0003_tamper.sql.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


def forward(apps: Any, schema_editor: Any) -> None:
    from pgaudit_django import conf
    from pgaudit_django.storage import install, partitions, testing

    install.install_sql(schema_editor)
    connection = schema_editor.connection
    settings = conf.storage()
    partitions.ensure(connection, settings.partition_months_ahead, settings.partition_interval)
    # Last: the DDL above is the installation itself, not something to record.
    install.install_event_triggers(connection)
    testing.sync(connection)


def backward(apps: Any, schema_editor: Any) -> None:
    from pgaudit_django.storage import install

    install.uninstall_sql(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("pgaudit", "0002_events")]

    operations = [migrations.RunPython(forward, backward)]
