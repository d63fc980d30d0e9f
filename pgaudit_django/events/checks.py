"""Startup checks for the event settings: a lockout that cannot work must not look enabled."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from pgaudit_django import conf

BACKEND_PATH = "pgaudit_django.events.auth.LockoutBackend"


def _lockout_backend_positions() -> list[int]:
    from pgaudit_django.events.auth import LockoutBackend

    positions = []
    for index, path in enumerate(settings.AUTHENTICATION_BACKENDS):
        try:
            backend = import_string(path)
        except ImportError:
            continue  # Django reports unimportable backends itself
        if isinstance(backend, type) and issubclass(backend, LockoutBackend):
            positions.append(index)
    return positions


@checks.register(checks.Tags.security)
def check_events(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        events = conf.events()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="pgaudit.E401")]
    messages: list[checks.CheckMessage] = []
    if events.lockout is not None:
        positions = _lockout_backend_positions()
        if not positions:
            messages.append(
                checks.Error(
                    "AUDIT_LOCKOUT is set but no LockoutBackend is in AUTHENTICATION_BACKENDS: "
                    "nothing enforces the lockout.",
                    hint=f"Put {BACKEND_PATH!r} first in AUTHENTICATION_BACKENDS.",
                    id="pgaudit.E402",
                )
            )
        elif positions[0] != 0:
            messages.append(
                checks.Warning(
                    "LockoutBackend is not the first authentication backend: the backends "
                    "before it are not protected by AUDIT_LOCKOUT.",
                    hint=f"Move {BACKEND_PATH!r} to the top of AUTHENTICATION_BACKENDS.",
                    id="pgaudit.W403",
                )
            )
        skipped = {entry.lower() for entry in conf.get().skip_models}
        if "pgaudit.loginattempt" in skipped:
            messages.append(
                checks.Error(
                    "AUDIT_LOCKOUT counts LoginAttempt rows, but AUDIT_SKIP_MODELS skips them.",
                    id="pgaudit.E404",
                )
            )
    return messages
