"""The audit triggers as django-pgtrigger ``Trigger`` objects.

Each trigger carries its own ``TrackOptions`` and renders its SQL from whatever model it is
compiled against: ``makemigrations`` compiles against historical models, so the generated SQL
follows the fields of the migration state and a field change rewrites the trigger in the same
migration.
"""

from __future__ import annotations

from collections.abc import Callable

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


def triggers_for(options: TrackOptions) -> list[AuditTrigger]:
    actions = conf.CAPTURE_ACTIONS - conf.get().skip_actions
    return [
        AuditTrigger(action=action, options=options)
        for action in ("CREATE", "UPDATE", "DELETE", "TRUNCATE")
        if action in actions
    ]


def attach_triggers(host: type[models.Model], tracked: type[models.Model]) -> None:
    """Put the audit triggers in ``host``'s ``Meta.triggers`` (the model or its proxy)."""
    from pgaudit_django.registry import get_registration

    registration = get_registration(tracked)
    assert registration is not None
    pgtrigger.register(*triggers_for(registration.options))(host)
