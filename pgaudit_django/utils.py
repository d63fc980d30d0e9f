"""The original ``audit.utils`` names, so ``from audit.utils import ...`` becomes
``from pgaudit_django.utils import ...`` and nothing else changes."""

from __future__ import annotations

from pgaudit_django.events.exports import log_data_export
from pgaudit_django.events.manual import AuditMixin, log_audit_event, log_view_access
from pgaudit_django.events.summary import get_audit_summary
from pgaudit_django.events.system import log_system_event

__all__ = [
    "AuditMixin",
    "get_audit_summary",
    "log_audit_event",
    "log_data_export",
    "log_system_event",
    "log_view_access",
]
