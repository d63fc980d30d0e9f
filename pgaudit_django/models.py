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
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pgaudit_django.managers import AuditLogQuerySet

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

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ("-timestamp", "-id")

    def __str__(self) -> str:
        return f"{self.action} {self.display_object} at {self.timestamp:%Y-%m-%d %H:%M:%S}"

    # Attribution lives on the context row (one per transaction); these keep the original
    # library's attribute names working.
    def _from_context(self, name: str) -> Any:
        context = self.context if self.context_id else None
        return getattr(context, name) if context is not None else None

    @property
    def ip_address(self) -> str | None:
        return self._from_context("ip_address")

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
        return self._from_context("transaction_id")

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
