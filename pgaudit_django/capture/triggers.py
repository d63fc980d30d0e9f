"""The audit triggers as django-pgtrigger ``Trigger`` objects.

Each trigger carries its own ``TrackOptions`` and renders its SQL from whatever model it is
compiled against: ``makemigrations`` compiles against historical models, so the generated SQL
follows the fields of the migration state and a field change rewrites the trigger in the same
migration.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, cast

import pgtrigger
from django.db import models

from pgaudit_django import conf
from pgaudit_django.capture import sql
from pgaudit_django.capture.spec import build_spec
from pgaudit_django.registry import TrackOptions

_OPERATIONS: dict[
    str, tuple[pgtrigger.Operation, Callable[..., str], pgtrigger.Referencing | None]
] = {
    "CREATE": (pgtrigger.Insert, sql.insert_function, pgtrigger.Referencing(new=sql.NEW_TABLE)),
    "UPDATE": (
        pgtrigger.Update,
        sql.update_function,
        pgtrigger.Referencing(old=sql.OLD_TABLE, new=sql.NEW_TABLE),
    ),
    "DELETE": (pgtrigger.Delete, sql.delete_function, pgtrigger.Referencing(old=sql.OLD_TABLE)),
    "TRUNCATE": (pgtrigger.Truncate, sql.truncate_function, None),
}
TRIGGER_NAMES = {
    "CREATE": "pgaudit_insert",
    "UPDATE": "pgaudit_update",
    "DELETE": "pgaudit_delete",
    "TRUNCATE": "pgaudit_truncate",
}


class AuditTrigger(pgtrigger.Trigger):
    """A statement-level AFTER trigger writing one audit row per affected row."""

    def __init__(self, *, action: str, options: TrackOptions) -> None:
        operation, self._render, referencing = _OPERATIONS[action]
        self.action = action
        self.options = options
        super().__init__(
            name=TRIGGER_NAMES[action],
            level=pgtrigger.Statement,
            when=pgtrigger.After,
            operation=operation,
            referencing=referencing,
        )

    def get_declare(self, model: type[models.Model]) -> list[tuple[str, str]]:  # type: ignore[override]
        return sql.declare()

    def get_func(self, model: type[models.Model]) -> str:  # type: ignore[override]
        return self._render(build_spec(model, self.options))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, AuditTrigger)
            and other.action == self.action
            and other.options == self.options
        )

    def __hash__(self) -> int:
        return hash((self.action, self.options))


_M2M_SUFFIX = {"CREATE": "ins", "UPDATE": "upd", "DELETE": "del", "TRUNCATE": "trn"}


class ManyToManyAuditTrigger(AuditTrigger):
    """Audit triggers on an auto-created many-to-many table, hosted by the declaring model.

    Django gives auto-created ``through`` models no migration state of their own, so
    django-pgtrigger cannot migrate triggers declared on them. These triggers live in the
    declaring model's ``Meta.triggers`` (so ``makemigrations`` writes them into that model's
    app) but compile against, install on and report the status of the ``through`` table.
    Rows of such tables have no content type: they are recorded with ``table_name`` set.
    """

    def __init__(self, *, action: str, field_name: str, host_label: str) -> None:
        self.field_name = field_name
        self.host_label = host_label
        super().__init__(action=action, options=TrackOptions())
        name = f"pgaudit_m2m_{_M2M_SUFFIX[action]}_{field_name}"
        if len(name) > pgtrigger.core.MAX_NAME_LENGTH:
            digest = hashlib.sha1(field_name.encode()).hexdigest()[:6]
            name = name[: pgtrigger.core.MAX_NAME_LENGTH - 7] + "_" + digest
        self.name = name.lower()
        self.validate_name()

    def _through(self, model: type[models.Model]) -> type[models.Model]:
        if model._meta.auto_created:
            return model
        field = model._meta.get_field(self.field_name)
        return cast("type[models.Model]", getattr(field.remote_field, "through", None))

    def get_uri(self, model: type[models.Model]) -> str:  # type: ignore[override]
        # The same id whether computed from the host or from its through model.
        return f"{self.host_label}:{self.name}"

    def compile(self, model: type[models.Model]) -> pgtrigger.compiler.Trigger:  # type: ignore[override]
        # pgtrigger annotates its model arguments as instances; they are classes at run time.
        return super().compile(cast(Any, self._through(model)))

    def get_installation_status(  # type: ignore[override]
        self, model: type[models.Model], database: str | None = None
    ) -> tuple[str, bool | None]:
        return super().get_installation_status(cast(Any, self._through(model)), database=database)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ManyToManyAuditTrigger) and (other.action, other.field_name) == (
            self.action,
            self.field_name,
        )

    def __hash__(self) -> int:
        return hash((self.action, self.field_name))


def _actions() -> list[str]:
    enabled = conf.CAPTURE_ACTIONS - conf.get().skip_actions
    return [a for a in ("CREATE", "UPDATE", "DELETE", "TRUNCATE") if a in enabled]


def triggers_for(options: TrackOptions) -> list[AuditTrigger]:
    return [AuditTrigger(action=action, options=options) for action in _actions()]


def many_to_many_triggers_for(
    host: type[models.Model], tracked: type[models.Model], options: TrackOptions
) -> list[ManyToManyAuditTrigger]:
    """Triggers for the tracked model's auto-created m2m tables (not for excluded fields)."""
    excluded = set(options.exclude)
    host_label = f"{host._meta.app_label}.{host._meta.object_name}"
    triggers: list[ManyToManyAuditTrigger] = []
    for field in tracked._meta.local_many_to_many:
        through = field.remote_field.through
        if field.name in excluded or not getattr(through, "_meta", None):
            continue
        if not through._meta.auto_created:  # type: ignore[union-attr]
            continue  # an explicit through model is tracked (or not) like any other model
        triggers.extend(
            ManyToManyAuditTrigger(action=action, field_name=field.name, host_label=host_label)
            for action in _actions()
        )
    return triggers


def all_triggers_for(
    host: type[models.Model], tracked: type[models.Model], options: TrackOptions
) -> list[AuditTrigger]:
    """Every audit trigger a tracked model gets: its own table's and its m2m tables'."""
    return [*triggers_for(options), *many_to_many_triggers_for(host, tracked, options)]


def attach_triggers(host: type[models.Model], tracked: type[models.Model]) -> None:
    """Put the audit triggers in ``host``'s ``Meta.triggers`` (the model or its proxy)."""
    from pgaudit_django.registry import get_registration

    registration = get_registration(tracked)
    assert registration is not None
    pgtrigger.register(*all_triggers_for(host, tracked, registration.options))(host)
