"""Two things ``migrate`` must get right for audited tables.

1. Dependencies: a migration that adds audit triggers must run after ``pgaudit``'s own
   migrations, or a data migration in an app sorted before ``pgaudit`` would call
   ``pgaudit_context()`` before it exists. The autodetector is taught to add that dependency.
2. Attribution: data migrations run under ``migrate`` carry a context naming the migration
   (``source = "migration"``). ``AUDIT_CAPTURE_MIGRATIONS = False`` turns their capture off,
   which is recorded like any ``disabled()`` block.
"""

from __future__ import annotations

import functools
from typing import Any

import django
from django.core.management.commands import makemigrations, migrate
from django.db.migrations.migration import Migration

from pgaudit_django import conf
from pgaudit_django.attribution.state import Frame, pop, push


def _pgaudit_dependency() -> Any:
    if django.VERSION >= (5, 1):
        from django.db.migrations.autodetector import OperationDependency

        return OperationDependency("pgaudit", "auditlog", None, OperationDependency.Type.CREATE)
    return ("pgaudit", "auditlog", None, True)


class _AuditDependencyMixin:
    def add_operation(
        self, app_label: str, operation: Any, dependencies: Any = None, beginning: bool = False
    ) -> None:
        trigger = getattr(operation, "trigger", None)
        if app_label != "pgaudit" and str(getattr(trigger, "name", "")).startswith("pgaudit_"):
            dependencies = [*(dependencies or ()), _pgaudit_dependency()]
        super().add_operation(app_label, operation, dependencies, beginning)  # type: ignore[misc]


def patch_autodetector() -> None:
    # Same approach as django-pgtrigger, which patches these module attributes the same way.
    for module in (makemigrations, migrate):
        current = getattr(module, "MigrationAutodetector")  # noqa: B009
        if not issubclass(current, _AuditDependencyMixin):
            patched = type("MigrationAutodetector", (_AuditDependencyMixin, current), {})
            setattr(module, "MigrationAutodetector", patched)  # noqa: B010
    if django.VERSION >= (5, 2):
        detector = getattr(makemigrations, "MigrationAutodetector")  # noqa: B009
        makemigrations.Command.autodetector = detector
        migrate.Command.autodetector = detector


_original_apply = Migration.apply
_original_unapply = Migration.unapply


def _with_migration_context(method: Any) -> Any:
    @functools.wraps(method)
    def wrapper(self: Migration, *args: Any, **kwargs: Any) -> Any:
        frame = Frame(
            source="migration",
            reason=f"migration {self.app_label}.{self.name}",
            metadata={"migration": f"{self.app_label}.{self.name}"},
            disabled=not conf.get().capture_migrations,
        )
        token = push(frame)
        try:
            return method(self, *args, **kwargs)
        finally:
            pop(token)

    wrapper._pgaudit_patched = True  # type: ignore[attr-defined]
    return wrapper


def patch_migration_context() -> None:
    if not getattr(Migration.apply, "_pgaudit_patched", False):
        Migration.apply = _with_migration_context(_original_apply)  # type: ignore[method-assign]
        Migration.unapply = _with_migration_context(_original_unapply)  # type: ignore[method-assign]
