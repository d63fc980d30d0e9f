"""Application events in the audit log: ``log_audit_event``, ``log_view_access``, ``AuditMixin``.

These rows go into ``AuditLog``, the table the triggers write, so one timeline shows data changes,
logins and custom actions together. The row's ``context`` (IP, user agent, request id, reason) is
filled by the ``pgaudit_fill_context`` trigger from the frame pushed around the insert.

``AUDIT_SKIP_ACTIONS`` and ``AUDIT_SKIP_MODELS`` are honoured: a skipped event writes nothing and
the function returns ``None`` (as it does when the write itself failed and was logged).
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, router
from django.http import HttpRequest

from pgaudit_django.attribution.state import MAX_REASON_CHARS, UNSET
from pgaudit_django.events.text import clean_text, json_value, validate_action
from pgaudit_django.events.writing import (
    acting_user,
    action_skipped,
    attributed,
    model_skipped,
    safe_write,
)
from pgaudit_django.models import AuditLog

OBJECT_REPR_LIMIT = 255  # AuditLog.object_repr
OBJECT_ID_LIMIT = 255


def _object_repr(obj: models.Model) -> str:
    try:
        return clean_text(str(obj), OBJECT_REPR_LIMIT)
    except Exception:  # a broken __str__ must not lose the event
        return ""


def _target(obj: models.Model | None) -> dict[str, Any]:
    if obj is None:
        return {}
    if not isinstance(obj, models.Model):
        raise TypeError(f"content_object must be a model instance, got {type(obj).__name__}.")
    if obj.pk is None:
        raise ValueError("content_object has no primary key yet: save it before logging it.")
    object_id = str(obj.pk)
    if len(object_id) > OBJECT_ID_LIMIT:
        raise ValueError(f"content_object's primary key is longer than {OBJECT_ID_LIMIT} chars.")
    db = router.db_for_write(AuditLog)
    content_type = ContentType.objects.db_manager(db).get_for_model(obj, for_concrete_model=True)
    return {
        "content_type": content_type,
        "object_id": object_id,
        "object_repr": _object_repr(obj),
        "table_name": (obj._meta.concrete_model or obj._meta.model)._meta.db_table,
    }


def record_action(
    action: str,
    *,
    user: Any = UNSET,
    content_object: models.Model | None = None,
    changes: Any = None,
    reason: str | None = None,
    request: HttpRequest | None = None,
) -> AuditLog | None:
    """Write one ``AuditLog`` event row (validated arguments; ``AUDIT_SKIP_ACTIONS`` applies)."""
    if action_skipped(action):
        return None
    target = _target(content_object)
    actor = acting_user(user, request)
    # An explicit anonymous/None user means "nobody", not "whoever the context says".
    frame_user = actor if user is not UNSET or actor is not None else UNSET

    def create() -> AuditLog:
        with attributed(request, user=frame_user, reason=reason):
            row: AuditLog = AuditLog.objects.create(
                action=action,
                user_id=actor.pk if actor is not None else None,
                changes=changes,
                **target,
            )
            return row

    return safe_write(f"audit event {action!r}", AuditLog, create)


def _reason(reason: object) -> str | None:
    if reason is None or reason == "":
        return None
    if not isinstance(reason, str):
        raise TypeError(f"reason must be a string, got {type(reason).__name__}.")
    return clean_text(reason, MAX_REASON_CHARS)


def log_audit_event(
    user: Any = None,
    action: str = "",
    content_object: models.Model | None = None,
    changes: Any = None,
    reason: str = "",
    request: HttpRequest | None = None,
) -> AuditLog | None:
    """Record a custom action, e.g. ``log_audit_event(user=u, action="APPROVE", content_object=o)``.

    ``user`` defaults to ``request.user``; an anonymous user is stored as no user. ``action`` is
    any string of at most 32 characters (``ValueError`` otherwise). ``changes`` must be JSON
    data (dates, decimals and UUIDs are converted; anything else is a ``TypeError``).
    Returns the row, or ``None`` when the action or model is skipped by settings.
    """
    action = validate_action(action)
    changes = json_value(changes, "changes")
    reason_text = _reason(reason)
    # __class__, not type(): request.user is a SimpleLazyObject around the user.
    if isinstance(content_object, models.Model) and model_skipped(content_object.__class__):
        return None
    return record_action(
        action,
        user=user if user is not None else UNSET,
        content_object=content_object,
        changes=changes,
        reason=reason_text,
        request=request,
    )


def log_view_access(
    request: HttpRequest, obj: models.Model | None, **extra: Any
) -> AuditLog | None:
    """Record that ``request.user`` viewed ``obj`` (action ``VIEW``; skip it with
    ``AUDIT_SKIP_ACTIONS = ["VIEW"]``). ``extra`` becomes the row's ``changes``."""
    if isinstance(obj, models.Model) and model_skipped(obj.__class__):
        return None
    return record_action(
        "VIEW",
        content_object=obj,
        changes=json_value(extra, "log_view_access() keyword arguments") if extra else None,
        request=request,
    )


class AuditMixin:
    """For class-based views: ``self.log_view_access(self.request, obj)`` records a VIEW."""

    def log_view_access(
        self, request: HttpRequest, obj: models.Model | None, **extra: Any
    ) -> AuditLog | None:
        return log_view_access(request, obj, **extra)
