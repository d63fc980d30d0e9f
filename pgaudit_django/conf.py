"""Typed access to the ``AUDIT_*`` settings, validated once and re-read when tests override them.

Every setting lives here so the settings reference in ``docs/settings.md`` has one source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

ALL_MODELS = "__all__"

# Models that are never captured by "__all__": capturing them would be noise (content types),
# would copy live credentials into the audit trail (session data, API tokens), or would recurse
# (our own tables, always skipped).
DEFAULT_SKIP_MODELS: tuple[str, ...] = (
    "sessions.Session",
    "authtoken.Token",
    "authtoken.TokenProxy",
    "contenttypes.ContentType",
    "admin.LogEntry",
    "auth.Permission",
)
ALWAYS_SKIPPED_APPS: frozenset[str] = frozenset({"pgaudit", "pgtrigger", "migrations"})
CAPTURE_ACTIONS: frozenset[str] = frozenset({"CREATE", "UPDATE", "DELETE", "TRUNCATE"})
# Values larger than this are recorded by size and SHA-256 (docs/capture.md). The upper bound
# keeps an UPDATE's old and new copies well inside jsonb's 256 MB limit.
DEFAULT_MAX_VALUE_BYTES = 1024 * 1024
MAX_VALUE_BYTES_LIMIT = 64 * 1024 * 1024


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
    max_value_bytes: int


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
    max_value_bytes = getattr(settings, "AUDIT_MAX_VALUE_BYTES", DEFAULT_MAX_VALUE_BYTES)
    if (
        isinstance(max_value_bytes, bool)
        or not isinstance(max_value_bytes, int)
        or not 1024 <= max_value_bytes <= MAX_VALUE_BYTES_LIMIT
    ):
        raise ImproperlyConfigured(
            f"AUDIT_MAX_VALUE_BYTES must be a whole number of bytes from 1024 to"
            f" {MAX_VALUE_BYTES_LIMIT}, got {max_value_bytes!r}."
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
        max_value_bytes=max_value_bytes,
    )


@receiver(setting_changed)
def _reset(setting: str, **kwargs: Any) -> None:
    if setting.startswith("AUDIT_"):
        get.cache_clear()


# ---------------------------------------------------------------------------------------------
# ORM-side events (logins, lockout, security middleware, geo lookup): docs/events.md.

LOCKOUT_KEYS: frozenset[str] = frozenset({"username", "ip"})
SECURITY_SEVERITIES: tuple[str, ...] = ("low", "medium", "high")


@dataclass(frozen=True)
class LockoutPolicy:
    """Refuse logins after ``failures`` FAILED attempts within ``window`` seconds, counted per
    username and/or per client IP (``by``)."""

    failures: int
    window: int
    by: frozenset[str]


@dataclass(frozen=True)
class EventSettings:
    lockout: LockoutPolicy | None
    security_block: bool
    security_block_severity: str
    geoip_database: str | None
    geoip_lookup: str | None


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ImproperlyConfigured(f"{name} must be a positive integer, got {value!r}.")
    return value


def _lockout_policy(value: Any) -> LockoutPolicy | None:
    if value is None or value is False:
        return None
    if not isinstance(value, dict):
        raise ImproperlyConfigured(
            "AUDIT_LOCKOUT must be None or a dict such as "
            '{"failures": 5, "window": 900, "by": ["username", "ip"]}.'
        )
    unknown = set(value) - {"failures", "window", "by"}
    if unknown:
        raise ImproperlyConfigured(f"AUDIT_LOCKOUT has unknown keys {sorted(map(str, unknown))}.")
    by = value.get("by", ["username", "ip"])
    if isinstance(by, str) or not isinstance(by, (list, tuple, set, frozenset)) or not by:
        raise ImproperlyConfigured(
            'AUDIT_LOCKOUT["by"] must be a non-empty list of "username" and/or "ip".'
        )
    bad = set(by) - LOCKOUT_KEYS
    if bad:
        raise ImproperlyConfigured(
            f'AUDIT_LOCKOUT["by"] accepts "username" and "ip", got {sorted(map(str, bad))}.'
        )
    return LockoutPolicy(
        failures=_positive_int('AUDIT_LOCKOUT["failures"]', value.get("failures", 5)),
        window=_positive_int('AUDIT_LOCKOUT["window"]', value.get("window", 900)),
        by=frozenset(by),
    )


def _optional_str(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ImproperlyConfigured(f"{name} must be a string or None, got {value!r}.")
    return value


@lru_cache(maxsize=1)
def events() -> EventSettings:
    severity = getattr(settings, "AUDIT_SECURITY_BLOCK_SEVERITY", "medium")
    if severity not in SECURITY_SEVERITIES:
        raise ImproperlyConfigured(
            f"AUDIT_SECURITY_BLOCK_SEVERITY must be one of {SECURITY_SEVERITIES}, got {severity!r}."
        )
    block = getattr(settings, "AUDIT_SECURITY_BLOCK", False)
    if not isinstance(block, bool):
        raise ImproperlyConfigured(f"AUDIT_SECURITY_BLOCK must be True or False, got {block!r}.")
    return EventSettings(
        lockout=_lockout_policy(getattr(settings, "AUDIT_LOCKOUT", None)),
        security_block=block,
        security_block_severity=severity,
        geoip_database=_optional_str(
            "AUDIT_GEOIP_DATABASE", getattr(settings, "AUDIT_GEOIP_DATABASE", None)
        ),
        geoip_lookup=_optional_str(
            "AUDIT_GEOIP_LOOKUP", getattr(settings, "AUDIT_GEOIP_LOOKUP", None)
        ),
    )


@receiver(setting_changed)
def _reset_events(setting: str, **kwargs: Any) -> None:
    if setting.startswith("AUDIT_"):
        events.cache_clear()


# ---------------------------------------------------------------------------------------------
# Storage: partitions, retention, append-only guards, read replica (docs/operations.md).

PARTITION_UNITS: tuple[str, ...] = ("month", "week", "day")
RETENTION_CATEGORIES: tuple[str, ...] = ("default", "security")
# AuditLog actions kept for the "security" retention. Captured changes (CREATE/UPDATE/DELETE/
# TRUNCATE) are always "default": they are the bulk of the rows.
DEFAULT_SECURITY_ACTIONS: tuple[str, ...] = (
    "LOGIN",
    "LOGOUT",
    "LOGIN_FAILED",
    "AUDIT_BYPASS",
    "AUDIT_DISABLED",
    "AUDIT_DDL",
    "AUDIT_MAINTENANCE",
    "RETENTION",
)


@dataclass(frozen=True)
class StorageSettings:
    partition_interval: str
    partition_months_ahead: int
    partitions_on_migrate: bool
    # Category -> maximum age in days; None keeps that category forever.
    retention: dict[str, int | None]
    security_actions: tuple[str, ...]
    allow_truncate_for_tests: bool
    read_database: str | None


def parse_age(name: str, value: Any) -> int | None:
    """Days from ``400`` / ``"400d"`` / ``"52w"`` / ``timedelta(days=400)``; None means forever."""
    if value is None:
        return None
    days: Any = value
    if isinstance(value, timedelta):
        days = value.days
    elif isinstance(value, str):
        text = value.strip().lower()
        unit = {"d": 1, "w": 7}.get(text[-1:])
        if unit is None or not text[:-1].isdigit():
            raise ImproperlyConfigured(
                f'{name} must be a number of days, a timedelta or a string like "400d" or '
                f'"52w", got {value!r}.'
            )
        days = int(text[:-1]) * unit
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ImproperlyConfigured(f"{name} must be at least one day, got {value!r}.")
    return days


def _retention(value: Any) -> dict[str, int | None]:
    if value is None:
        return {"default": None, "security": None}
    if not isinstance(value, dict):
        raise ImproperlyConfigured(
            'AUDIT_RETENTION must be None or a dict such as {"default": "400d", '
            '"security": "1825d"}.'
        )
    unknown = set(value) - set(RETENTION_CATEGORIES)
    if unknown:
        raise ImproperlyConfigured(
            f"AUDIT_RETENTION has unknown categories {sorted(map(str, unknown))}; "
            f"use {list(RETENTION_CATEGORIES)}."
        )
    default = parse_age('AUDIT_RETENTION["default"]', value.get("default"))
    # Security events are kept at least as long as changes: they live in the same partitions.
    security = parse_age('AUDIT_RETENTION["security"]', value.get("security", value.get("default")))
    if default is not None and security is not None and security < default:
        raise ImproperlyConfigured(
            'AUDIT_RETENTION["security"] must be at least AUDIT_RETENTION["default"]: security '
            "rows live in the same partitions as changes and are kept past them, not before."
        )
    if default is None and security is not None:
        raise ImproperlyConfigured(
            'AUDIT_RETENTION["security"] needs AUDIT_RETENTION["default"] (security rows are '
            "kept past the default age, never removed before it)."
        )
    return {"default": default, "security": security}


def _security_actions(value: Any) -> tuple[str, ...]:
    actions = tuple(a.upper() for a in _str_tuple("AUDIT_SECURITY_ACTIONS", value))
    captured = sorted(set(actions) & CAPTURE_ACTIONS)
    if captured:
        raise ImproperlyConfigured(
            f"AUDIT_SECURITY_ACTIONS cannot contain captured actions {captured}: captured "
            "changes follow the default retention."
        )
    return actions


@lru_cache(maxsize=1)
def storage() -> StorageSettings:
    interval = getattr(settings, "AUDIT_PARTITION_INTERVAL", "month")
    if interval not in PARTITION_UNITS:
        raise ImproperlyConfigured(
            f"AUDIT_PARTITION_INTERVAL must be one of {PARTITION_UNITS}, got {interval!r}."
        )
    ahead = getattr(settings, "AUDIT_PARTITION_MONTHS_AHEAD", 3)
    if isinstance(ahead, bool) or not isinstance(ahead, int) or not 0 <= ahead <= 120:
        raise ImproperlyConfigured(
            f"AUDIT_PARTITION_MONTHS_AHEAD must be an integer from 0 to 120, got {ahead!r}."
        )
    read_database = _optional_str(
        "AUDIT_READ_DATABASE", getattr(settings, "AUDIT_READ_DATABASE", None)
    )
    if read_database is not None and read_database not in settings.DATABASES:
        raise ImproperlyConfigured(
            f"AUDIT_READ_DATABASE {read_database!r} is not an alias in DATABASES."
        )
    return StorageSettings(
        partition_interval=interval,
        partition_months_ahead=ahead,
        partitions_on_migrate=bool(getattr(settings, "AUDIT_PARTITIONS_ON_MIGRATE", True)),
        retention=_retention(getattr(settings, "AUDIT_RETENTION", None)),
        security_actions=_security_actions(
            getattr(settings, "AUDIT_SECURITY_ACTIONS", DEFAULT_SECURITY_ACTIONS)
        ),
        allow_truncate_for_tests=bool(getattr(settings, "AUDIT_ALLOW_TRUNCATE_FOR_TESTS", True)),
        read_database=read_database,
    )


@receiver(setting_changed)
def _reset_storage(setting: str, **kwargs: Any) -> None:
    if setting.startswith("AUDIT_"):
        storage.cache_clear()
