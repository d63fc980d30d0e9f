"""Audit tables (range-partitioned, created by SQL) and the support functions of the triggers."""

from __future__ import annotations

from typing import Any

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from pgaudit_django.sql import render


def _user_pk_type(apps: Any, schema_editor: Any) -> str:
    app_label, model_name = settings.AUTH_USER_MODEL.split(".")
    user_model = apps.get_model(app_label, model_name)
    return user_model._meta.pk.rel_db_type(schema_editor.connection)


def create_schema(apps: Any, schema_editor: Any) -> None:
    pk_type = _user_pk_type(apps, schema_editor)
    for name in ("0001_schema.sql", "0001_functions.sql"):
        schema_editor.execute(render(name, schema_editor.connection, pk_type))


def drop_schema(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(
        "DROP TABLE IF EXISTS pgaudit_auditlog, pgaudit_auditcontext CASCADE;"
        "DROP FUNCTION IF EXISTS pgaudit_context(), pgaudit_content_type(text, text),"
        " pgaudit_fill_context() CASCADE;"
    )


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        # __first__, not a named migration: with MIGRATION_MODULES = {"contenttypes": None} (a
        # common test speed-up) the app is unmigrated and a named dependency would not exist.
        # The content type table's columns that the triggers read exist from its first migration.
        ("contenttypes", "__first__"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(create_schema, drop_schema)],
            state_operations=[
                migrations.CreateModel(
                    name="AuditContext",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("created", models.DateTimeField(default=django.utils.timezone.now)),
                        ("transaction_id", models.BigIntegerField()),
                        ("source", models.CharField(default="database", max_length=16)),
                        ("db_role", models.CharField(max_length=63)),
                        (
                            "application_name",
                            models.CharField(blank=True, default="", max_length=64),
                        ),
                        ("client_addr", models.GenericIPAddressField(blank=True, null=True)),
                        ("backend_pid", models.IntegerField(blank=True, null=True)),
                        ("user_label", models.CharField(blank=True, default="", max_length=150)),
                        ("ip_address", models.GenericIPAddressField(blank=True, null=True)),
                        ("user_agent", models.CharField(blank=True, default="", max_length=512)),
                        ("session_hash", models.CharField(blank=True, default="", max_length=64)),
                        ("request_id", models.CharField(blank=True, default="", max_length=64)),
                        ("method", models.CharField(blank=True, default="", max_length=16)),
                        ("path", models.CharField(blank=True, default="", max_length=512)),
                        ("route", models.CharField(blank=True, default="", max_length=255)),
                        ("reason", models.CharField(blank=True, default="", max_length=512)),
                        ("metadata", models.JSONField(blank=True, null=True)),
                        ("capture_disabled", models.BooleanField(default=False)),
                        (
                            "user",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "audit context",
                        "verbose_name_plural": "audit contexts",
                    },
                ),
                migrations.CreateModel(
                    name="AuditLog",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("timestamp", models.DateTimeField(default=django.utils.timezone.now)),
                        ("action", models.CharField(max_length=32)),
                        ("table_name", models.CharField(blank=True, max_length=63, null=True)),
                        ("object_id", models.CharField(blank=True, max_length=255, null=True)),
                        ("object_repr", models.CharField(blank=True, default="", max_length=255)),
                        ("changes", models.JSONField(blank=True, null=True)),
                        ("module", models.CharField(blank=True, default="", max_length=255)),
                        (
                            "content_type",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="contenttypes.contenttype",
                            ),
                        ),
                        (
                            "context",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="entries",
                                to="pgaudit.auditcontext",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "audit log entry",
                        "verbose_name_plural": "audit log",
                        "ordering": ("-timestamp", "-id"),
                    },
                ),
            ],
        ),
    ]
