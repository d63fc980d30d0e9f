"""Triggers are installed by migrations: reviewable, reversible, no churn, and schema-aware."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection, migrations, models
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState
from django.test import override_settings

from pgaudit_django.capture.migration_support import patch_autodetector
from pgaudit_django.models import AuditLog


def test_makemigrations_has_nothing_to_do(db):
    # Migrations identical between runs: the trigger SQL is deterministic.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def _changes_after_adding_a_field(field_name: str) -> list:
    patch_autodetector()
    from django.core.management.commands import makemigrations

    loader = MigrationLoader(None, ignore_no_migrations=True)
    to_state = ProjectState.from_apps(apps)
    to_state.models["testapp", "customer"].fields[field_name] = models.CharField(
        max_length=10, default=""
    )
    detector: MigrationAutodetector = makemigrations.MigrationAutodetector(
        loader.project_state(), to_state
    )
    return detector.changes(graph=loader.graph)["testapp"][0].operations


def test_adding_a_field_rewrites_the_triggers_in_the_same_migration():
    operations = _changes_after_adding_a_field("nickname")
    kinds = [type(op).__name__ for op in operations]
    assert "AddField" in kinds
    added = [op for op in operations if type(op).__name__ == "AddTrigger"]
    assert {op.trigger.name for op in added} >= {
        "pgaudit_insert",
        "pgaudit_update",
        "pgaudit_delete",
    }
    update_sql = next(op.trigger.install_sql for op in added if op.trigger.name == "pgaudit_update")
    assert '"nickname"' in update_sql


def test_trigger_migrations_depend_on_pgaudit():
    # Otherwise a data migration of an app sorted before "pgaudit" would run before the
    # support functions exist.
    loader = MigrationLoader(None)
    first = loader.get_migration("testapp", "0001_initial")
    assert any(app == "pgaudit" for app, _ in first.dependencies), first.dependencies


@pytest.mark.django_db(transaction=True)
def test_migrations_are_reversible():
    def user_creates() -> int:
        # Only captured user rows: migrate's own DDL may be recorded by the tamper trigger.
        return AuditLog.objects.for_model(User).filter(action="CREATE").count()

    before = user_creates()
    call_command("migrate", "audit_triggers", "0001", verbosity=0)
    try:
        User.objects.create(username="untracked-while-unmigrated")
        assert user_creates() == before
    finally:
        call_command("migrate", "audit_triggers", verbosity=0)
    User.objects.create(username="tracked-again")
    assert user_creates() == before + 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("capture", [True, False])
def test_data_migration_carries_a_migration_context(capture):
    def forwards(historical_apps, schema_editor):
        Customer = historical_apps.get_model("testapp", "Customer")
        Customer.objects.create(name=f"from-migration-{capture}")

    class Migration(migrations.Migration):
        operations = [migrations.RunPython(forwards)]

    migration = Migration("0099_data", "testapp")
    state = MigrationLoader(connection).project_state(("testapp", "0001_initial"))
    before = AuditLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with override_settings(AUDIT_CAPTURE_MIGRATIONS=capture), connection.schema_editor() as editor:
        migration.apply(state, editor)
    rows = list(AuditLog.objects.filter(id__gt=before).select_related("context").order_by("id"))
    captured = [r for r in rows if r.action == "CREATE"]
    if capture:
        (row,) = captured
        assert row.context.source == "migration"
        assert row.context.metadata == {"migration": "testapp.0099_data"}
    else:
        assert captured == []
