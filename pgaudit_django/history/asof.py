"""``as_of(Model, pk, when)``: the object as it was at a moment, rebuilt from the trail.

The walk goes backwards from the present: start from the live row (or nothing), then undo the
entries newer than ``when``, newest first. Going backwards, not forwards from the CREATE, means
objects that existed before they were tracked can still be rebuilt for the period covered.
"""

from __future__ import annotations

import datetime
from typing import Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.db import models

from pgaudit_django.history.resolve import masked_fields, object_id_for, to_python
from pgaudit_django.models import AuditLog

ModelT = TypeVar("ModelT", bound=models.Model)
ROW_ACTIONS = ("CREATE", "UPDATE", "DELETE")


def entries_for(model: type[models.Model], pk: Any, using: str = "default") -> Any:  # noqa: ANN401
    content_type = ContentType.objects.db_manager(using).get_for_model(
        model, for_concrete_model=True
    )
    return AuditLog.objects.using(using).filter(
        content_type=content_type, object_id=object_id_for(pk), action__in=ROW_ACTIONS
    )


def as_of(
    model: type[ModelT],
    pk: Any,
    when: datetime.datetime,
    using: str = "default",  # noqa: ANN401
) -> ModelT | None:
    """The instance as it was at ``when`` (unsaved), or None if it did not exist then.

    Masked fields whose value changed after ``when`` are unknown: they are set to None and
    listed in ``instance._pgaudit_unknown_fields``.
    """
    attnames = [f.attname for f in model._meta.concrete_fields]
    live = model._base_manager.using(using).filter(pk=pk).values(*attnames).first()
    state: dict[str, Any] | None = dict(live) if live is not None else None
    unknown: set[str] = set()
    newer = entries_for(model, pk, using).filter(timestamp__gt=when).order_by("-timestamp", "-id")
    for entry in newer.iterator():
        changes = entry.changes or {}
        if entry.action == "CREATE":
            state, unknown = None, set()
            continue
        if entry.action == "DELETE":
            state, unknown = {}, set()
        if state is None:  # an UPDATE of a row we have no state for: start from its old values
            state = {}
        for attname, pair in changes.items():
            state[attname] = to_python(model, attname, pair.get("old"))
        for attname in masked_fields(model, changes, "old"):
            state[attname] = None
            unknown.add(attname)
    if state is None:
        return None
    known = {a: v for a, v in state.items() if a in attnames}
    instance = model(**known)
    instance._state.adding = False
    instance._state.db = using
    instance._pgaudit_unknown_fields = sorted(unknown)  # type: ignore[attr-defined]
    return instance
