"""The audit admin: registered on Django's default admin site when ``django.contrib.admin`` is
installed (``autodiscover`` imports this package).

* ``AuditLog``: the read-only console (``auditlog.py``).
* ``LoginAttempt``, ``DataExport``, ``SystemEvent``: read-only too, except a system event's
  resolution (``events.py``).
* ``AuditHistoryMixin`` (``history.py``) for the admins of tracked models; added automatically to
  the ``auth.User`` admin when ``auth.User`` is tracked.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model

from pgaudit_django import models as audit_models
from pgaudit_django import registry
from pgaudit_django.admin.auditlog import AuditLogAdmin, build_changelist, changelist_queryset
from pgaudit_django.admin.history import AuditHistoryMixin, history_index_sql
from pgaudit_django.admin.readonly import ReadOnlyAuditAdmin

__all__ = [
    "AuditHistoryMixin",
    "AuditLogAdmin",
    "ReadOnlyAuditAdmin",
    "build_changelist",
    "changelist_queryset",
    "history_index_sql",
]

logger = logging.getLogger(__name__)


def _register(model: Any, model_admin: Any) -> None:
    if model is not None and not admin.site.is_registered(model):
        admin.site.register(model, model_admin)


_register(audit_models.AuditLog, AuditLogAdmin)

# The event models and their admins arrive with the events feature; absent, the rest still works.
try:
    from pgaudit_django.admin.events import DataExportAdmin, LoginAttemptAdmin, SystemEventAdmin
except ImportError:  # pragma: no cover - depends on the installed version of the models
    logger.debug("pgaudit_django: event models not available; their admins are not registered.")
else:
    _register(getattr(audit_models, "LoginAttempt", None), LoginAttemptAdmin)
    _register(getattr(audit_models, "DataExport", None), DataExportAdmin)
    _register(getattr(audit_models, "SystemEvent", None), SystemEventAdmin)


def add_history_to_user_admin(site: admin.AdminSite = admin.site) -> bool:
    """Give the registered user admin the audit-history button, if the user model is tracked.

    Runs when this package is imported by ``autodiscover``: the user admin of
    ``django.contrib.auth`` (listed before this app) is registered by then. A project registering
    its own user admin later adds ``AuditHistoryMixin`` itself, or calls this again.
    """
    user_model = get_user_model()
    if registry.get_registration(user_model) is None or not site.is_registered(user_model):
        return False
    current = site._registry[user_model]
    if isinstance(current, AuditHistoryMixin):
        return False
    try:
        audited = type(f"Audited{type(current).__name__}", (AuditHistoryMixin, type(current)), {})
        site.unregister(user_model)
        site.register(user_model, audited)
    except Exception:  # never break the admin over a convenience
        logger.exception("pgaudit_django: could not add the audit history to the user admin.")
        if not site.is_registered(user_model):
            site.register(user_model, type(current))
        return False
    return True


add_history_to_user_admin()
