"""System checks: bad configuration is reported at startup, never silently ignored."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from pgaudit_django import conf, registry
from pgaudit_django.capture import proxies
from pgaudit_django.capture.spec import unknown_fields


@checks.register(checks.Tags.models)
def check_configuration(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    try:
        settings_obj = conf.get()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="pgaudit.E001")]

    for alias, db in settings.DATABASES.items():
        if "postgresql" not in db.get("ENGINE", "") and "postgis" not in db.get("ENGINE", ""):
            errors.append(
                checks.Warning(
                    f"Database {alias!r} is not PostgreSQL ({db.get('ENGINE')}): writes through it "
                    "are not captured.",
                    hint="pgaudit_django captures changes with PostgreSQL triggers.",
                    id="pgaudit.W002",
                )
            )
    if "pgtrigger" not in {a.label for a in apps.get_app_configs()}:
        errors.append(checks.Error("'pgtrigger' must be in INSTALLED_APPS.", id="pgaudit.E002"))

    needs_trigger_app = settings_obj.models == conf.ALL_MODELS or bool(settings_obj.models)
    needs_trigger_app |= any(r.via == "external" for r in registry.registrations())
    needs_trigger_app |= bool(registry.pending_labels())
    if needs_trigger_app and not proxies.trigger_app_loaded:
        errors.append(
            checks.Error(
                "Models registered through settings or track(Model) need the trigger app "
                f"{settings_obj.triggers_app!r}, which is not installed (or its models.py does not "
                "call declare_trigger_models()).",
                hint=f"Run 'manage.py pgaudit_init {settings_obj.triggers_app}' and add it to "
                "INSTALLED_APPS after the apps whose models it tracks.",
                id="pgaudit.E004",
            )
        )
    if settings_obj.models == conf.ALL_MODELS and proxies.trigger_app_loaded:
        missed = [
            m._meta.label
            for m in apps.get_models()
            if proxies.is_auditable(m) and registry.get_registration(m) is None
        ]
        if missed:
            errors.append(
                checks.Warning(
                    f"AUDIT_MODELS = '__all__' does not cover {', '.join(sorted(missed))}: their "
                    "apps come after the trigger app in INSTALLED_APPS.",
                    hint=f"Move {settings_obj.triggers_app!r} to the end of INSTALLED_APPS.",
                    id="pgaudit.W005",
                )
            )
    for label in registry.pending_labels():
        errors.append(
            checks.Error(
                f"track({label!r}) was called after the trigger app was loaded, or the label was "
                "never resolved.",
                hint="Call track() in the trigger app's models.py, above declare_trigger_models().",
                id="pgaudit.E005",
            )
        )
    for registration in registry.registrations():
        missing = unknown_fields(registration.model, registration.options)
        if missing:
            errors.append(
                checks.Error(
                    f"track({registration.label}) names fields that do not exist or are not "
                    f"columns: {', '.join(missing)}.",
                    obj=registration.model,
                    id="pgaudit.E003",
                )
            )
        pk = registration.model._meta.pk
        if pk is None or getattr(pk, "column", None) is None:
            errors.append(
                checks.Error(
                    f"{registration.label} has a composite primary key: not supported yet.",
                    obj=registration.model,
                    id="pgaudit.E006",
                )
            )
    return errors


@checks.register(checks.Tags.database)
def check_triggers_installed(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Warn when a registered model's triggers are missing or outdated (migrations not run)."""
    from pgaudit_django.capture.status import trigger_status

    messages: list[checks.CheckMessage] = []
    for alias in databases or ():
        if connections[alias].vendor != "postgresql" or _migrations_pending(alias):
            # Pending migrations: migrate is about to install the triggers (and Django itself
            # reports unapplied migrations); warning now would only be noise.
            continue
        problems: dict[str, list[str]] = {}
        for row in trigger_status(alias):
            if row.status != "INSTALLED" or row.enabled is False:
                state = row.status if row.enabled is not False else "DISABLED"
                problems.setdefault(row.label, []).append(f"{row.trigger} {state}")
        for label, details in problems.items():
            messages.append(
                checks.Warning(
                    f"Audit triggers of {label} are not all installed in database {alias!r} "
                    f"({', '.join(details)}): some changes to this table are not captured.",
                    hint="Run 'manage.py makemigrations' and 'manage.py migrate', then "
                    "'manage.py pgaudit_status'.",
                    id="pgaudit.W001",
                )
            )
    return messages


def _migrations_pending(alias: str) -> bool:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[alias])
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))
