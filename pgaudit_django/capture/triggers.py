"""The audit triggers as django-pgtrigger ``Trigger`` objects.

Each trigger carries its own ``TrackOptions`` and renders its SQL from whatever model it is
compiled against: ``makemigrations`` compiles against historical models, so the generated SQL
follows the fields of the migration state and a field change rewrites the trigger in the same
migration.

django-pgtrigger supplies the migration machinery (``Meta.triggers`` in the migration state,
``AddTrigger``/``RemoveTrigger`` operations, hashes in trigger comments) and nothing else:

* The installed SQL is the library's own template (``capture/compiled.py``): no
  ``pgtrigger.ignore`` check, ``SECURITY DEFINER`` with a fixed ``search_path``, ``ENABLE ALWAYS``.
* The triggers are named ``pgaudit_cap_*`` and never enter django-pgtrigger's registry, only
  ``Meta.triggers``. pgtrigger's commands (``install``, ``prune``, ``ls``, ``enable``,
  ``disable``, ``uninstall``) act on its registry and on triggers named ``pgtrigger_*``, so none of
  them can see, prune or switch off an audit trigger — its prune used to drop every many-to-many
  audit trigger, which it keyed by the wrong table. Their registry also rebuilt two indexes on
  every registration: quadratic start-up with hundreds of tracked models.
* Names carry 48 bits of a digest (pgtrigger's carry 20: with 500 tracked models, four triggers
  each, a clash that stopped start-up had a 38 % chance). Clashes are still checked, with a clear
  error, in ``_claim_name``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any, cast

import pgtrigger
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.db.utils import ProgrammingError
from pgtrigger import compiler, utils
from pgtrigger.core import INSTALLED, OUTDATED, UNALLOWED, UNINSTALLED

from pgaudit_django import conf
from pgaudit_django.capture import sql
from pgaudit_django.capture.compiled import AuditTriggerSql
from pgaudit_django.capture.spec import build_spec
from pgaudit_django.registry import TrackOptions

# Prefix of every capture trigger and its function (tamper detection and pgaudit_verify match it).
PG_NAME_PREFIX = "pgaudit_cap_"
_PG_NAME_MAX = 63
_DIGEST_CHARS = 12

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

    def get_pgid(self, model: type[models.Model]) -> str:  # type: ignore[override]
        """Name of the trigger and of its function: readable, and unique in the schema."""
        return pg_name(self.action, str(model._meta.db_table), self.get_uri(cast(Any, model)))

    def compile(self, model: type[models.Model]) -> compiler.Trigger:  # type: ignore[override]
        declare = "\n".join(f"    {name} {kind};" for name, kind in self.get_declare(model))
        referencing = self.referencing
        return compiler.Trigger(
            name=self.name,
            sql=AuditTriggerSql(
                pgid=self.get_pgid(model),
                declare=declare,
                func=self.get_func(model),
                table=model._meta.db_table,
                when=self.when,
                operation=self.operation,
                referencing=str(referencing) if referencing else "",
            ),
        )

    # Meta.triggers only, never django-pgtrigger's registry (module docstring). pgtrigger's
    # AppConfig.ready() calls register() for every trigger found in Meta.triggers.
    def register(self, *models_: type[models.Model]) -> None:  # type: ignore[override]
        for model in models_:
            _add_to_meta(model, self)

    def unregister(self, *models_: type[models.Model]) -> None:  # type: ignore[override]
        for model in models_:
            for attrs in (model._meta.__dict__, model._meta.original_attrs):
                triggers = attrs.get("triggers")
                if triggers and self in triggers:
                    attrs["triggers"] = [t for t in triggers if t is not self]

    def get_installation_status(  # type: ignore[override]
        self, model: type[models.Model], database: str | None = None
    ) -> tuple[str, bool | None]:
        """(INSTALLED | OUTDATED | UNINSTALLED | IGNORED, enabled).

        pgtrigger's own check calls only ``ENABLE ORIGIN`` enabled; audit triggers are
        ``ENABLE ALWAYS``, which is enabled too (and ``ENABLE REPLICA`` is not: it only fires
        under ``session_replication_role = replica``).
        """
        if not self.allow_migrate(cast(Any, model), database=database):
            return (UNALLOWED, None)
        using = database or DEFAULT_DB_ALIAS
        try:
            with transaction.atomic(using=using), utils.connection(using).cursor() as cursor:
                cursor.execute(
                    "SELECT obj_description(oid, 'pg_trigger'), tgenabled FROM pg_trigger"
                    " WHERE tgname = %s AND tgrelid = %s::regclass",
                    [self.get_pgid(model), utils.quote(model._meta.db_table)],
                )
                row = cursor.fetchone()
        except ProgrammingError:  # the table does not exist (yet)
            return (UNINSTALLED, None)
        if row is None:
            return (UNINSTALLED, None)
        enabled = row[1] in ("O", "A")
        if row[0] != self.compile(model).hash:
            return (OUTDATED, enabled)
        return (INSTALLED, enabled)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, AuditTrigger)
            and other.action == self.action
            and other.options == self.options
        )

    def __hash__(self) -> int:
        return hash((self.action, self.options))


_SHORT_ACTION = {"CREATE": "ins", "UPDATE": "upd", "DELETE": "del", "TRUNCATE": "trn"}


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
        name = f"pgaudit_m2m_{_SHORT_ACTION[action]}_{field_name}"
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


def pg_name(action: str, table: str, uri: str) -> str:
    """``pgaudit_cap_<op>_<table>_<digest>``: the table for people, the digest for uniqueness."""
    digest = hashlib.sha256(uri.encode()).hexdigest()[:_DIGEST_CHARS]
    head = f"{PG_NAME_PREFIX}{_SHORT_ACTION[action]}_"
    room = _PG_NAME_MAX - len(head) - 1 - len(digest)
    stub = re.sub(r"[^a-z0-9_]+", "_", table.lower())[:room].strip("_")
    return f"{head}{stub}_{digest}"


# Function names in use, each with the trigger it belongs to (function names are unique per
# schema; trigger names only per table).
_claimed_names: dict[str, str] = {}


def _claim_name(model: type[models.Model], trigger: AuditTrigger) -> None:
    concrete = trigger._through(model) if isinstance(trigger, ManyToManyAuditTrigger) else model
    name = trigger.get_pgid(concrete)
    uri = trigger.get_uri(cast(Any, concrete))
    owner = _claimed_names.setdefault(name, uri)
    if owner != uri:
        raise ImproperlyConfigured(
            f"pgaudit_django: the audit triggers {owner!r} and {uri!r} would install functions"
            f" of the same name {name!r}. Rename one of the models or report this (the names"
            " carry 48 bits of a digest; a clash should never happen)."
        )


def _add_to_meta(model: type[models.Model], trigger: AuditTrigger) -> None:
    """Add ``trigger`` to ``model``'s ``Meta.triggers`` (and to what migrations read of it)."""
    opts = model._meta
    current = list(getattr(opts, "triggers", []))
    if trigger not in current:
        opts.triggers = [*current, trigger]  # type: ignore[attr-defined]
    original = list(opts.original_attrs.get("triggers", []))
    if trigger not in original:
        opts.original_attrs["triggers"] = [*original, trigger]


def attach_triggers(host: type[models.Model], tracked: type[models.Model]) -> None:
    """Put the audit triggers in ``host``'s ``Meta.triggers`` (the model or its proxy)."""
    from pgaudit_django.registry import get_registration

    registration = get_registration(tracked)
    assert registration is not None
    for trigger in all_triggers_for(host, tracked, registration.options):
        _claim_name(host, trigger)
        _add_to_meta(host, trigger)
