"""Logins, logouts and failed logins, from Django's auth signals; optional lockout.

Every path works with or without a request (``authenticate()`` from a script, ``Client.login``,
``force_login``: the IP is then simply unknown) and for any ``USERNAME_FIELD``. Each attempt
is a ``LoginAttempt`` row, and a ``LOGIN``/``LOGOUT``/``LOGIN_FAILED`` row in ``AuditLog`` puts it
on the same timeline as the data changes (``AUDIT_SKIP_ACTIONS`` can drop the latter).

A receiver that raised would break the login itself, so every receiver logs and swallows.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, load_backend
from django.contrib.auth.backends import BaseBackend
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, router, transaction
from django.http import HttpRequest
from django.utils.module_loading import import_string
from django.views.decorators.debug import sensitive_variables

from pgaudit_django import conf
from pgaudit_django.attribution.state import UNSET
from pgaudit_django.events import geo, lockout
from pgaudit_django.events.manual import record_action
from pgaudit_django.events.text import clean_text
from pgaudit_django.events.writing import (
    USERNAME_LIMIT,
    attributed,
    model_skipped,
    request_info,
    safe_write,
    username_of,
)
from pgaudit_django.models import LoginAttempt

logger = logging.getLogger("pgaudit_django.events")

REASON_LIMIT = 255
UNKNOWN_USER = "unknown user"
SUCCESS = "SUCCESS"  # LoginAttempt.Status values, as plain str for typing
FAILED = "FAILED"
BLOCKED = "BLOCKED"
INVALID_CREDENTIALS = "invalid credentials"


def credential_username(credentials: Mapping[str, Any], user_model: Any = None) -> str:
    """The login name in ``authenticate()`` credentials, cleaned and bounded.

    Like ``ModelBackend``: ``username=`` first, then the user model's ``USERNAME_FIELD``
    (``email=`` for an email-login model), then ``email=`` (a project backend that logs
    users in by email while ``USERNAME_FIELD`` stays ``username``).
    """
    model = user_model if user_model is not None else get_user_model()
    field = getattr(model, "USERNAME_FIELD", "username")
    for key in ("username", field, "email"):
        value = credentials.get(key)
        if value is not None and value != "":
            return clean_text(value if isinstance(value, str) else str(value), USERNAME_LIMIT)
    return ""


def known_account(username: str) -> Any:
    """The user with that login name, or ``None`` (a read in its own savepoint: odd input
    must not poison a surrounding transaction)."""
    if not username or username.endswith("…"):
        return None
    model = get_user_model()
    try:
        with transaction.atomic(using=router.db_for_write(model)):
            return model._default_manager.get_by_natural_key(username)
    except Exception:  # DoesNotExist, MultipleObjectsReturned, DataError on odd input
        return None


def failure_reason(username: str, account: Any) -> str:
    # No username at all (a token backend's credentials) is not an "unknown user".
    return UNKNOWN_USER if username and account is None else INVALID_CREDENTIALS


def record_attempt(
    status: str,
    username: str,
    request: HttpRequest | None,
    *,
    account: Any = None,
    reason: str = "",
) -> LoginAttempt | None:
    if model_skipped(LoginAttempt):
        return None
    ip = request_info(request).ip if request is not None else None
    user_agent = request_info(request).user_agent if request is not None else ""
    country, city = geo.locate(ip)
    fields = {
        "status": status,
        "username": clean_text(username, USERNAME_LIMIT),
        "user_id": getattr(account, "pk", None),
        "ip_address": ip,
        "user_agent": user_agent,
        "failure_reason": clean_text(reason, REASON_LIMIT),
        "country": country,
        "city": city,
    }

    def create() -> LoginAttempt:
        user = account if status == SUCCESS else UNSET
        with attributed(request, user=user):
            attempt: LoginAttempt = LoginAttempt.objects.create(**fields)
            return attempt

    return safe_write(f"{status} login attempt", LoginAttempt, create)


# --- signal receivers -----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """A failed or blocked attempt ``LockoutBackend`` already recorded, handed to the
    ``user_login_failed`` receiver so it is not recorded twice."""

    username: str
    status: str
    reason: str
    account: Any


_recorded: ContextVar[Outcome | None] = ContextVar("pgaudit_django_login_outcome", default=None)


def on_logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    try:
        record_attempt(SUCCESS, username_of(user), request, account=user)
        record_action("LOGIN", user=user, content_object=user, request=request)
    except Exception:
        logger.exception("pgaudit_django: could not record a login.")


def on_logged_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is None or not getattr(user, "is_authenticated", False):
        return  # logging out a session that was not logged in
    try:
        record_action("LOGOUT", user=user, content_object=user, request=request)
    except Exception:
        logger.exception("pgaudit_django: could not record a logout.")


def on_login_failed(
    sender: Any, credentials: Mapping[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    try:
        username = credential_username(credentials)
        outcome = _recorded.get()
        _recorded.set(None)
        if outcome is None or outcome.username != username:
            account = known_account(username)
            reason = failure_reason(username, account)
            outcome = Outcome(username, FAILED, reason, account)
            record_attempt(outcome.status, username, request, account=account, reason=reason)
        record_action(
            "LOGIN_FAILED",
            content_object=outcome.account,
            changes={"username": username, "status": outcome.status, "reason": outcome.reason},
            request=request,
        )
    except Exception:
        logger.exception("pgaudit_django: could not record a failed login.")


# --- lockout --------------------------------------------------------------------------------


class LockoutBackend(BaseBackend):
    """Put first in ``AUTHENTICATION_BACKENDS`` to enforce ``AUDIT_LOCKOUT``.

    It checks the lockout under an advisory lock, then runs the backends listed after it
    itself, still holding the lock, and records the outcome before releasing it. A locked-out
    attempt is recorded as BLOCKED and refused with ``PermissionDenied`` (Django then stops and
    sends ``user_login_failed``) without checking the password. Authenticated users are annotated
    with this backend's path, so it also answers ``get_user()`` by asking the same backends.
    With ``AUDIT_LOCKOUT = None`` it steps aside (returns ``None``).
    """

    def _others(self) -> list[tuple[Any, str]]:
        paths = list(settings.AUTHENTICATION_BACKENDS)
        start = 0
        for index, path in enumerate(paths):
            if import_string(path) is type(self):
                start = index + 1
                break
        return [
            (load_backend(path), path)
            for path in paths[start:]
            if not issubclass(import_string(path), LockoutBackend)
        ]

    def _authenticate_with_others(
        self, request: HttpRequest | None, credentials: dict[str, Any]
    ) -> tuple[Any, str]:
        """(user or None, failure reason)."""
        for backend, path in self._others():
            try:
                inspect.signature(backend.authenticate).bind(request, **credentials)
            except TypeError:
                continue  # this backend does not take these credentials
            try:
                user = backend.authenticate(request, **credentials)
            except PermissionDenied:
                return None, f"refused by {path}"
            if user is not None:
                return user, ""
        return None, ""

    @sensitive_variables("credentials")
    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> Any:
        policy = conf.events().lockout
        if policy is None:
            return None
        username = credential_username(credentials)
        ip = request_info(request).ip if request is not None else None
        keys = lockout.lock_keys(policy, username, ip)
        if not keys:
            return None  # nothing to count by: the other backends decide alone
        db = router.db_for_write(LoginAttempt)
        try:
            with transaction.atomic(using=db):
                lockout.acquire(keys, db)
                locked = lockout.locked_by(policy, username, ip, db)
                if locked:
                    status, reason = BLOCKED, f"locked out ({locked})"
                else:
                    user, reason = self._authenticate_with_others(request, credentials)
                    if user is not None:
                        return user
                    status = FAILED
                account = known_account(username)
                reason = reason or failure_reason(username, account)
                # Recorded before the lock is released: the next attempt's count includes it.
                record_attempt(status, username, request, account=account, reason=reason)
        except DatabaseError:
            # Fail open: a broken lockout must not lock everybody out; the normal backends
            # (listed after this one) still check the password.
            logger.exception("pgaudit_django: lockout check failed; not enforcing lockout.")
            return None
        _recorded.set(Outcome(username, status, reason, account))
        raise PermissionDenied

    def get_user(self, user_id: Any) -> Any:
        for backend, _path in self._others():
            user = backend.get_user(user_id)
            if user is not None:
                return user
        return None
