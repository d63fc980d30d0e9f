"""Query helpers for the audit log."""

from __future__ import annotations

from typing import cast

from django.contrib.contenttypes.models import ContentType
from django.db import models


class AuditLogQuerySet(models.QuerySet):
    def for_object(self, obj: models.Model) -> AuditLogQuerySet:
        """That object's history, newest first (served by the (content type, object id) index)."""
        content_type = ContentType.objects.db_manager(self.db).get_for_model(
            obj, for_concrete_model=True
        )
        history = self.filter(content_type=content_type, object_id=str(obj.pk))
        return cast(AuditLogQuerySet, history.order_by("-timestamp", "-id"))

    def for_model(self, model: type[models.Model]) -> AuditLogQuerySet:
        content_type = ContentType.objects.db_manager(self.db).get_for_model(
            model, for_concrete_model=True
        )
        return cast(AuditLogQuerySet, self.filter(content_type=content_type))

    def captured(self) -> AuditLogQuerySet:
        return cast(
            AuditLogQuerySet, self.filter(action__in=("CREATE", "UPDATE", "DELETE", "TRUNCATE"))
        )


AuditLogManager = models.Manager.from_queryset(AuditLogQuerySet)
