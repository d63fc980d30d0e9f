"""``revert(entries)``: undo captured changes, newest first, in one transaction.

The undo is an ordinary write, so the capture triggers record it like any other; it runs
inside ``pgaudit_django.context`` with the reverted entry ids in its metadata. A row that
changed after the entry is a conflict (refused unless ``force``); a masked value is refused
always, because the old value was never stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models, transaction
from django.db.models import Q

from pgaudit_django.attribution.state import context
from pgaudit_django.history.errors import MaskedFieldError, RevertConflict, RevertError
from pgaudit_django.history.resolve import (
    field_by_attname,
    masked_fields,
    model_for,
    through_links,
    to_python,
)
from pgaudit_django.models import AuditLog

ROW_ACTIONS = ("CREATE", "UPDATE", "DELETE")


def _entries(target: AuditLog | Iterable[AuditLog]) -> list[AuditLog]:
    rows = [target] if isinstance(target, AuditLog) else list(target)
    for row in rows:
        if row.action not in ROW_ACTIONS:
            raise RevertError(
                f"Audit entry #{row.id} is a {row.action} entry: only row "
                "changes (CREATE/UPDATE/DELETE) can be reverted."
            )
    return sorted(rows, key=lambda r: (r.timestamp, r.id), reverse=True)


def _values(model: type[models.Model], changes: dict[str, Any], side: str) -> dict[str, Any]:
    out = {}
    for attname, pair in changes.items():
        field = field_by_attname(model, attname)
        if field is not None:
            out[field.attname] = to_python(model, attname, pair.get(side))
    return out


def _later_entries(entry: AuditLog, fields: list[str], skip: set[int]) -> list[int]:
    """Entries for the same object after ``entry`` that touched ``fields`` (or any, if none)."""
    later = AuditLog.objects.filter(
        content_type_id=entry.content_type_id,
        table_name=entry.table_name,
        object_id=entry.object_id,
        action__in=ROW_ACTIONS,
    ).filter(Q(timestamp__gt=entry.timestamp) | Q(timestamp=entry.timestamp, id__gt=entry.id))
    ids = []
    for row in later.order_by("timestamp", "id"):
        if row.id in skip:
            continue
        if not fields or set(fields) & set(row.changes or {}):
            ids.append(row.id)
    return ids


class _Reverter:
    def __init__(self, entries: list[AuditLog], force: bool, using: str) -> None:
        self.entries = entries
        self.force = force
        self.using = using
        self.selected = {e.id for e in entries}
        self.done: set[int] = set()

    def model(self, entry: AuditLog) -> type[models.Model]:
        model = model_for(entry)
        if model is None:
            raise RevertError(f"Audit entry #{entry.id}: its model is not installed.")
        return model

    def conflict(self, entry: AuditLog, fields: list[str]) -> None:
        if not self.force:
            raise RevertConflict(entry.id, fields, _later_entries(entry, fields, self.selected))

    def run(self) -> list[int]:
        for entry in self.entries:
            if entry.id not in self.done:
                self.revert_one(entry)
        return sorted(self.done)

    def revert_one(self, entry: AuditLog) -> None:
        model = self.model(entry)
        changes = entry.changes or {}
        side = "new" if entry.action == "CREATE" else "old"
        masked = masked_fields(model, changes, side)
        if masked and entry.action != "CREATE":
            raise MaskedFieldError(entry.id, masked)
        manager = model._base_manager.db_manager(self.using)
        if entry.action == "UPDATE":
            self._undo_update(entry, model, manager, changes)
        elif entry.action == "CREATE":
            self._undo_create(entry, model, manager, changes)
        else:
            self._undo_delete(entry, model, manager, changes)
        self.done.add(entry.id)

    def _undo_update(
        self,
        entry: AuditLog,
        model: type[models.Model],
        manager: Any,
        changes: dict[str, Any],  # noqa: ANN401
    ) -> None:
        pk = to_python(model, model._meta.pk.attname, entry.object_id)
        new, old = _values(model, changes, "new"), _values(model, changes, "old")
        rows = manager.filter(pk=pk)
        current = rows.values(*new).first()
        if current is None:
            self.conflict(entry, [])
            raise RevertError(f"Audit entry #{entry.id}: the row no longer exists.")
        changed = [a for a, v in new.items() if current[a] != v]
        if changed:
            self.conflict(entry, changed)
        rows.update(**old)

    def _undo_create(
        self,
        entry: AuditLog,
        model: type[models.Model],
        manager: Any,
        changes: dict[str, Any],  # noqa: ANN401
    ) -> None:
        # Masked values are the marker, not the row's value: they cannot be compared.
        hidden = set(masked_fields(model, changes, "new"))
        new = {a: v for a, v in _values(model, changes, "new").items() if a not in hidden}
        pk_attname = model._meta.pk.attname
        rows = manager.filter(pk=new[pk_attname]) if pk_attname in new else manager.filter(**new)
        current = rows.values(*new).first()
        if current is None:
            return  # already gone: nothing to undo
        changed = [a for a, v in new.items() if current[a] != v]
        if changed:
            self.conflict(entry, changed)
        rows.delete()

    def _undo_delete(
        self,
        entry: AuditLog,
        model: type[models.Model],
        manager: Any,
        changes: dict[str, Any],  # noqa: ANN401
    ) -> None:
        old = _values(model, changes, "old")
        pk_attname = model._meta.pk.attname
        if pk_attname in old and manager.filter(pk=old[pk_attname]).exists():
            self.conflict(entry, [pk_attname])
            manager.filter(pk=old[pk_attname]).update(**old)
        else:
            manager.bulk_create([model(**old)])
        if entry.content_type_id and pk_attname in old:
            self._restore_m2m(entry, model, old[pk_attname])

    def _restore_m2m(self, entry: AuditLog, model: type[models.Model], pk: Any) -> None:  # noqa: ANN401
        """Re-insert the m2m rows the same transaction removed along with the object."""
        if entry.context_id is None:
            return
        for through, column in through_links(model):
            rows = (
                AuditLog.objects.using(self.using)
                .filter(
                    action="DELETE",
                    timestamp=entry.timestamp,
                    context__transaction_id=entry.context.transaction_id,  # type: ignore[union-attr]
                )
                .filter(**{f"changes__{column}__old": pk})
            )
            for row in rows.order_by("-id"):
                if row.id not in self.done and model_for(row) is through:
                    self.revert_one(row)


def revert(
    target: AuditLog | Iterable[AuditLog],
    *,
    reason: str,
    user: Any = None,  # noqa: ANN401
    force: bool = False,
    using: str = "default",
) -> list[int]:
    """Undo the entries (newest first, atomically); return the ids of every entry reverted.

    The writes are attributed to ``user`` with ``reason``; the context metadata carries
    ``reverted_entries`` so the trail says what was undone.
    """
    entries = _entries(target)
    if not entries:
        return []
    if not reason:
        raise RevertError("revert() needs a reason.")
    ids = [e.id for e in entries]
    kwargs: dict[str, Any] = {"reason": reason, "reverted_entries": ids}
    if user is not None:
        kwargs["user"] = user
    with transaction.atomic(using=using), context(**kwargs):
        return _Reverter(entries, force, using).run()
