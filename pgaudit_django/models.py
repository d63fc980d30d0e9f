"""Audit models.

``AuditLog`` and ``AuditContext`` are created by raw SQL in migration 0001 (range-partitioned
tables: see ``sql/0001_schema.sql``); Django sees ``id`` as their primary key, which is unique
(identity column) even though the database key is ``(timestamp, id)`` as partitioning requires.
Foreign keys never have database constraints and never cascade: deleting a user or a content
type must not delete history.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pgaudit_django.managers import AuditLogManager

CAPTURED_ACTIONS = ("CREATE", "UPDATE", "DELETE", "TRUNCATE")


class AuditContext(models.Model):
    """Who acted, from where and why: one row per transaction and distinct context."""

    id = models.BigAutoField(primary_key=True)
    created = models.DateTimeField(default=timezone.now)
    transaction_id = models.BigIntegerField()
    source = models.CharField(max_length=16, default="database")
    db_role = models.CharField(max_length=63)
    application_name = models.CharField(max_length=64, blank=True, default="")
    client_addr = models.GenericIPAddressField(null=True, blank=True)
    backend_pid = models.IntegerField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    user_label = models.CharField(max_length=150, blank=True, default="")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    session_hash = models.CharField(max_length=64, blank=True, default="")
    request_id = models.CharField(max_length=64, blank=True, default="")
    method = models.CharField(max_length=16, blank=True, default="")
    path = models.CharField(max_length=512, blank=True, default="")
    route = models.CharField(max_length=255, blank=True, default="")
    reason = models.CharField(max_length=512, blank=True, default="")
    metadata = models.JSONField(null=True, blank=True)
    # True when captures were skipped in this context (disabled(), migrations not captured).
    capture_disabled = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("audit context")
        verbose_name_plural = _("audit contexts")

    def __str__(self) -> str:
        who = self.user_label or (f"user {self.user_id}" if self.user_id else self.db_role)
        return f"{who} ({self.source}, tx {self.transaction_id})"


class AuditLog(models.Model):
    """One captured row change (CREATE/UPDATE/DELETE/TRUNCATE) or one application event."""

    id = models.BigAutoField(primary_key=True)
    timestamp = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=32)
    content_type = models.ForeignKey(
        ContentType,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    # NULL, not "": "no table/object" must be distinguishable and costs no bytes per row.
    table_name = models.CharField(max_length=63, null=True, blank=True)  # noqa: DJ001
    object_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    content_object = GenericForeignKey("content_type", "object_id")
    object_repr = models.CharField(max_length=255, blank=True, default="")
    changes = models.JSONField(null=True, blank=True)
    context = models.ForeignKey(
        AuditContext,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="entries",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    module = models.CharField(max_length=255, blank=True, default="")

    objects = AuditLogManager()

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ("-timestamp", "-id")

    def __str__(self) -> str:
        return f"{self.action} {self.display_object} at {self.timestamp:%Y-%m-%d %H:%M:%S}"

    # Attribution lives on the context row (one per transaction); these keep the original
    # library's attribute names working.
    def _from_context(self, name: str) -> Any:  # noqa: ANN401 - each property narrows it
        context = self.context if self.context_id else None
        return getattr(context, name) if context is not None else None

    @property
    def ip_address(self) -> str | None:
        value = self._from_context("ip_address")
        return str(value) if value is not None else None

    @property
    def user_agent(self) -> str:
        return self._from_context("user_agent") or ""

    @property
    def session_key(self) -> str:
        """A keyed hash of the session key: the live key is never stored."""
        return self._from_context("session_hash") or ""

    @property
    def reason(self) -> str:
        return self._from_context("reason") or ""

    @property
    def request_id(self) -> str:
        return self._from_context("request_id") or ""

    @property
    def transaction_id(self) -> int | None:
        value = self._from_context("transaction_id")
        return int(value) if value is not None else None

    @property
    def db_role(self) -> str:
        return self._from_context("db_role") or ""

    @property
    def display_object(self) -> str:
        """``object_repr`` when the trigger stored one, else "<model> <pk>" (no per-row query)."""
        if self.object_repr:
            return self.object_repr
        if self.content_type_id:
            model = ContentType.objects.get_for_id(self.content_type_id).model_class()
            name = model._meta.verbose_name if model else "object"
            return f"{name} {self.object_id}" if self.object_id else str(name)
        return f"{self.table_name or 'object'} {self.object_id or ''}".strip()

    @property
    def is_captured(self) -> bool:
        return self.action in CAPTURED_ACTIONS


# ---------------------------------------------------------------------------------------------
# ORM-side event tables (logins, exports, system events). Plain tables: the rates are low and
# retention is by age. Each row keeps a text snapshot of the user next to ``user_id`` (no
# database constraint, never cascading), so history stays readable after the user is deleted.
# ``context`` is filled by the ``pgaudit_fill_event_context`` BEFORE INSERT trigger (migration
# 0002): it links the event to the request/transaction context shared with ``AuditLog`` rows.


def _user_fk(db_index: bool = True) -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=db_index,
        related_name="+",
    )


def _context_fk() -> models.ForeignKey:
    return models.ForeignKey(
        AuditContext,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )


class LoginAttempt(models.Model):
    """One authentication attempt: a successful login, a failure, or a refusal by lockout."""

    class Status(models.TextChoices):
        SUCCESS = "SUCCESS", _("Success")
        FAILED = "FAILED", _("Failed")
        BLOCKED = "BLOCKED", _("Blocked")

    id = models.BigAutoField(primary_key=True)
    timestamp = models.DateTimeField(default=timezone.now)
    # What was typed (or the user's USERNAME_FIELD value on success), cleaned and bounded: an
    # email address can be 254 characters.
    username = models.CharField(max_length=254, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices)
    user = _user_fk()
    # NULL when there was no request (authenticate() from a script) or the address is unknown.
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    failure_reason = models.CharField(max_length=255, blank=True, default="")
    country = models.CharField(max_length=100, blank=True, default="")
    city = models.CharField(max_length=100, blank=True, default="")
    context = _context_fk()

    class Meta:
        verbose_name = _("login attempt")
        verbose_name_plural = _("login attempts")
        ordering = ("-timestamp", "-id")
        indexes = [
            models.Index(fields=["timestamp"], name="pgaudit_la_ts_idx"),
            models.Index(fields=["username", "timestamp"], name="pgaudit_la_user_ts_idx"),
            # Lockout counts case-insensitively, so "Alice" and "alice" share one counter.
            models.Index(
                Lower("username"), "timestamp", name="pgaudit_la_ulower_ts_idx"
            ),
            models.Index(fields=["ip_address", "timestamp"], name="pgaudit_la_ip_ts_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.status} {self.username or '?'} at {self.timestamp:%Y-%m-%d %H:%M:%S}"


class DataExport(models.Model):
    """One export of data out of the application, and how often its file was downloaded."""

    id = models.BigAutoField(primary_key=True)
    timestamp = models.DateTimeField(default=timezone.now)
    user = _user_fk(db_index=False)  # served by the (user, timestamp) index
    username = models.CharField(max_length=254, blank=True, default="")
    export_type = models.CharField(max_length=100)
    file_format = models.CharField(max_length=16)
    record_count = models.BigIntegerField(default=0)
    file_size = models.BigIntegerField(null=True, blank=True)  # bytes; 64-bit: exports pass 2 GB
    filters = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    file_path = models.CharField(max_length=500, blank=True, default="")
    download_count = models.PositiveIntegerField(default=0)
    last_downloaded = models.DateTimeField(null=True, blank=True)
    context = _context_fk()

    class Meta:
        verbose_name = _("data export")
        verbose_name_plural = _("data exports")
        ordering = ("-timestamp", "-id")
        indexes = [
            models.Index(fields=["timestamp"], name="pgaudit_de_ts_idx"),
            models.Index(fields=["user", "timestamp"], name="pgaudit_de_user_ts_idx"),
            models.Index(fields=["username", "timestamp"], name="pgaudit_de_uname_ts_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.export_type} ({self.file_format}) by {self.username or '?'}"

    def record_download(self) -> None:
        """Count one download; concurrent downloads are all counted (UPDATE ... + 1)."""
        from pgaudit_django.events.exports import record_download

        record_download(self)


class SystemEvent(models.Model):
    """Something that happened to the system rather than to a row: errors, probes, slowness."""

    class EventType(models.TextChoices):
        ERROR = "ERROR", _("Error")
        WARNING = "WARNING", _("Warning")
        INFO = "INFO", _("Info")
        SECURITY = "SECURITY", _("Security")
        PERFORMANCE = "PERFORMANCE", _("Performance")
        MAINTENANCE = "MAINTENANCE", _("Maintenance")

    id = models.BigAutoField(primary_key=True)
    timestamp = models.DateTimeField(default=timezone.now)
    event_type = models.CharField(max_length=16, choices=EventType.choices)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    module = models.CharField(max_length=255, blank=True, default="")
    function_name = models.CharField(max_length=255, blank=True, default="")
    line_number = models.PositiveIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True, default="")
    stack_trace = models.TextField(blank=True, default="")
    user = _user_fk(db_index=False)  # served by the (user, timestamp) index
    username = models.CharField(max_length=254, blank=True, default="")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    path = models.CharField(max_length=512, blank=True, default="")
    # Structured details: security findings, durations, the throttle's suppressed count.
    details = models.JSONField(null=True, blank=True)
    resolved = models.BooleanField(default=False)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = _user_fk(db_index=False)
    resolved_by_username = models.CharField(max_length=254, blank=True, default="")
    resolution_notes = models.TextField(blank=True, default="")
    context = _context_fk()

    class Meta:
        verbose_name = _("system event")
        verbose_name_plural = _("system events")
        ordering = ("-timestamp", "-id")
        indexes = [
            models.Index(fields=["timestamp"], name="pgaudit_se_ts_idx"),
            models.Index(
                fields=["event_type", "resolved", "timestamp"], name="pgaudit_se_type_res_ts_idx"
            ),
            models.Index(fields=["user", "timestamp"], name="pgaudit_se_user_ts_idx"),
            models.Index(fields=["ip_address", "timestamp"], name="pgaudit_se_ip_ts_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type}: {self.title}"

    def mark_resolved(self, user: Any = None, notes: str = "") -> None:
        """Record who resolved the event, when and how (saved at once, resolution fields only)."""
        from pgaudit_django.events.system import mark_resolved

        mark_resolved(self, user=user, notes=notes)
