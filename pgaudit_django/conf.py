"""Typed access to the ``AUDIT_*`` settings, validated once and re-read when tests override them.

Every setting lives here so the settings reference in ``docs/settings.md`` has one source.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

ALL_MODELS = "__all__"

# Models that are never captured by "__all__": capturing them would be noise (sessions, content
# types) or recursion (our own tables).
DEFAULT_SKIP_MODELS: tuple[str, ...] = (
    "sessions.Session",
    "contenttypes.ContentType",
    "admin.LogEntry",
    "auth.Permission",
)
ALWAYS_SKIPPED_APPS: frozenset[str] = frozenset({"pgaudit", "pgtrigger", "migrations"})
CAPTURE_ACTIONS: frozenset[str] = frozenset({"CREATE", "UPDATE", "DELETE", "TRUNCATE"})


@dataclass(frozen=True)
class AuditSettings:
    models: tuple[str, ...] | str
    skip_models: tuple[str, ...]
    skip_actions: frozenset[str]
    triggers_app: str
    capture_migrations: bool
    request_id_header: str
    mask_marker: str
    slow_request_seconds: float | None


def _str_tuple(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        raise ImproperlyConfigured(f"{name} must be a list of strings, got {value!r}.")
    for item in value:
        if not isinstance(item, str):
            raise ImproperlyConfigured(f"{name} must contain strings only, got {item!r}.")
    return tuple(value)


@lru_cache(maxsize=1)
def get() -> AuditSettings:
    models_setting = getattr(settings, "AUDIT_MODELS", ())
    models: tuple[str, ...] | str
    if models_setting == ALL_MODELS:
        models = ALL_MODELS
    else:
        models = _str_tuple("AUDIT_MODELS", models_setting)

    skip_actions = frozenset(
        a.upper()
        for a in _str_tuple("AUDIT_SKIP_ACTIONS", getattr(settings, "AUDIT_SKIP_ACTIONS", ()))
    )
    slow = getattr(settings, "AUDIT_SLOW_REQUEST_SECONDS", 5.0)
    if slow is not None and (not isinstance(slow, (int, float)) or slow <= 0):
        raise ImproperlyConfigured(
            f"AUDIT_SLOW_REQUEST_SECONDS must be a positive number or None, got {slow!r}."
        )
    triggers_app = getattr(settings, "AUDIT_TRIGGERS_APP", "audit_triggers")
    if not isinstance(triggers_app, str) or not triggers_app.isidentifier():
        raise ImproperlyConfigured(
            f"AUDIT_TRIGGERS_APP must be an app label (a Python identifier), got {triggers_app!r}."
        )
    marker = getattr(settings, "AUDIT_MASK_MARKER", "[masked]")
    if not isinstance(marker, str) or not marker or len(marker) > 32 or "'" in marker:
        raise ImproperlyConfigured(
            "AUDIT_MASK_MARKER must be a non-empty string of at most 32 characters without quotes."
        )
    return AuditSettings(
        models=models,
        skip_models=_str_tuple(
            "AUDIT_SKIP_MODELS", getattr(settings, "AUDIT_SKIP_MODELS", DEFAULT_SKIP_MODELS)
        ),
        skip_actions=skip_actions,
        triggers_app=triggers_app,
        capture_migrations=bool(getattr(settings, "AUDIT_CAPTURE_MIGRATIONS", True)),
        request_id_header=getattr(settings, "AUDIT_REQUEST_ID_HEADER", "HTTP_X_REQUEST_ID"),
        mask_marker=marker,
        slow_request_seconds=float(slow) if slow is not None else None,
    )


@receiver(setting_changed)
def _reset(setting: str, **kwargs: Any) -> None:
    if setting.startswith("AUDIT_"):
        get.cache_clear()
