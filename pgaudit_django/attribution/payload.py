"""The JSON the trigger receives in ``pgaudit_django.context``: built at the moment of a write.

The user is resolved here, lazily, so a user set inside the view (Django REST Framework token
authentication, for example) is the one recorded. Everything is cleaned and bounded before it
goes near SQL; the SQL side (``pgaudit_context()``) additionally survives malformed input.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from typing import Any

from django.utils.functional import LazyObject, empty

from pgaudit_django.attribution.state import UNSET, Frame, current
from pgaudit_django.request_info import clean_text, describe, route

PAYLOAD_VERSION = 1
# A Django connection writing with no request or context(): the application's own role acting
# outside any attribution (raw scripts, shells). Distinct from a DBA's session, which sends none.
NO_CONTEXT_PAYLOAD = json.dumps({"v": PAYLOAD_VERSION, "src": "app"}, separators=(",", ":"))

logger = logging.getLogger("pgaudit_django")
_resolving: ContextVar[bool] = ContextVar("pgaudit_django_resolving", default=False)


def _request_user(request: Any) -> Any:
    """The request's user, without loading it a second time.

    Django caches the user twice over: ``request.user`` is a lazy object filled by a sync
    ``get_user()``, ``await request.auser()`` fills ``request._acached_user``. An async view
    that awaited ``auser()`` leaves ``request.user`` unevaluated; reading it would query
    ``auth_user`` again, so the async result is used. A user assigned to ``request.user`` by
    the view (DRF token authentication) is not a lazy object and always wins.
    """
    if request is None:
        return None
    attributes = getattr(request, "__dict__", {})
    user = attributes.get("user", UNSET)
    if isinstance(user, LazyObject) and user._wrapped is empty and "_acached_user" in attributes:
        return attributes["_acached_user"]
    if user is UNSET:
        return getattr(request, "user", None)
    return user


def _user_of(frame: Frame) -> tuple[Any, str]:
    """(pk, label) of the acting user, or (None, "")."""
    user = frame.user
    if user is UNSET:
        user = _request_user(frame.request)
    if user is None or user is UNSET:
        return None, ""
    if isinstance(user, (int, str)):
        return user, ""
    if not getattr(user, "is_authenticated", False):
        return None, ""
    label = ""
    get_username = getattr(user, "get_username", None)
    if callable(get_username):
        label = clean_text(get_username(), 150)
    return user.pk, label


def build(frame: Frame | None) -> str:
    if frame is None:
        return NO_CONTEXT_PAYLOAD
    token = _resolving.set(True)
    user_error = None
    try:
        user_pk, user_label = _user_of(frame)
    except Exception as exc:  # an auth/session backend failing must not fail the user's write
        logger.warning("pgaudit_django: could not resolve the acting user: %r", exc)
        user_pk, user_label, user_error = None, "", clean_text(repr(exc), 200)
    finally:
        _resolving.reset(token)
    cached = frame.cache.get(user_pk)
    if cached is not None:
        return cached
    data: dict[str, Any] = {"v": PAYLOAD_VERSION, "src": frame.source}
    if user_pk is not None:
        data["user"] = str(user_pk)
        if user_label:
            data["user_label"] = user_label
    request = frame.request
    if request is not None:
        info = frame.request_info or describe(request)
        if info.ip:
            data["ip"] = info.ip
        data.update(
            ua=info.user_agent,
            request_id=info.request_id,
            method=info.method,
            path=info.path,
        )
        if info.session_hash:
            data["session"] = info.session_hash
        matched = route(request)
        if matched:
            data["route"] = clean_text(matched, 255)
    if frame.reason:
        data["reason"] = clean_text(frame.reason, 512)
    if frame.metadata or user_error:
        data["meta"] = {**frame.metadata, **({"user_error": user_error} if user_error else {})}
    if frame.disabled:
        data["disabled"] = True
    encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=True, default=str)
    # The route is only known once URL resolution ran; cache only when it is settled.
    if request is None or getattr(request, "resolver_match", None) is not None:
        frame.cache[user_pk] = encoded
    return encoded


def current_payload() -> str | None:
    """The payload for a write happening now, or None while a user is being resolved."""
    if _resolving.get():
        return None
    return build(current())
