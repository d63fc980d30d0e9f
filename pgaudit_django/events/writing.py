"""How every event row is written: attributed, isolated in a savepoint, never fatal.

* Attribution: the write runs inside a ``Frame`` for the event's request and user, so the
  ``pgaudit_fill_context`` / ``pgaudit_fill_event_context`` triggers link the row to the same
  ``AuditContext`` (IP, user agent, request id, reason) as the data changes of that request.
* Isolation: ``transaction.atomic()`` makes the insert a savepoint inside a caller's transaction
  (``ATOMIC_REQUESTS``), so a failed audit insert rolls back alone and the business write goes on.
* Never fatal: database errors are logged to the ``pgaudit_django.events`` logger and the writer
  returns ``None``. Caller mistakes are raised earlier, by the validation in each ``log_*``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import models, router, transaction
from django.http import HttpRequest

from pgaudit_django import conf
from pgaudit_django.attribution.state import UNSET, Frame, current, pop, push
from pgaudit_django.request_info import RequestInfo, clean_text, describe

logger = logging.getLogger("pgaudit_django.events")

T = TypeVar("T")
M = TypeVar("M", bound=models.Model)

USERNAME_LIMIT = 254
_INFO_ATTR = "_pgaudit_request_info"


def request_info(request: HttpRequest) -> RequestInfo:
    """The request's description, computed once per request.

    ``describe()`` invents a request id when the client sent none; reusing one description
    (the middleware's, when the request is the current one) keeps all events of a request
    on one request id and one context row.
    """
    frame = current()
    if frame is not None and frame.request is request and frame.request_info is not None:
        return frame.request_info  # type: ignore[no-any-return]
    info = getattr(request, _INFO_ATTR, None)
    if not isinstance(info, RequestInfo):
        info = describe(request)
        with contextlib.suppress(AttributeError):  # a request-like object with __slots__
            setattr(request, _INFO_ATTR, info)
    return info


def acting_user(user: Any, request: HttpRequest | None) -> Any:
    """The authenticated user an event is about, or ``None``.

    ``user`` wins when given; otherwise the request's user. Anonymous users, unsaved users
    and missing attributes all mean "nobody".
    """
    if user is None or user is UNSET:
        user = getattr(request, "user", None) if request is not None else None
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user if getattr(user, "pk", None) is not None else None


def username_of(user: Any) -> str:
    if user is None:
        return ""
    get_username = getattr(user, "get_username", None)
    try:
        name = get_username() if callable(get_username) else getattr(user, "username", "")
    except Exception:  # a custom user model whose USERNAME_FIELD is broken must not break audit
        name = ""
    return clean_text(name, USERNAME_LIMIT)


@contextmanager
def attributed(
    request: HttpRequest | None, user: Any = UNSET, reason: str | None = None
) -> Iterator[None]:
    """Run the enclosed writes with ``request``/``user``/``reason`` as their audit context."""
    if request is None and user is UNSET and not reason:
        yield
        return
    frame = Frame(
        source="request" if request is not None else "context",
        user=user,
        request=request,
        request_info=request_info(request) if request is not None else None,
        reason=reason or None,
    )
    token = push(frame)
    try:
        yield
    finally:
        pop(token)


def model_skipped(model: type[models.Model]) -> bool:
    """``AUDIT_SKIP_MODELS`` names this model ("app_label.Model", any case)."""
    label = model._meta.label_lower
    return any(entry.lower() == label for entry in conf.get().skip_models)


def action_skipped(action: str) -> bool:
    return action.upper() in conf.get().skip_actions


def safe_write(what: str, model: type[M], create: Callable[[], M]) -> M | None:
    """Run ``create`` in a savepoint on the model's write database; log and swallow failures."""
    try:
        with transaction.atomic(using=router.db_for_write(model)):
            return create()
    except Exception:
        logger.exception("pgaudit_django: could not record %s.", what)
        return None
