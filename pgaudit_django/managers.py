"""Query helpers for the audit log."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models


class AuditLogQuerySet(models.QuerySet):
    def for_object(self, obj: models.Model) -> AuditLogQuerySet:
        """That object's history, newest first (served by the (content type, object id) index)."""
        content_type = ContentType.objects.db_manager(self.db).get_for_model(
            obj, for_concrete_model=True
        )
        return self.filter(content_type=content_type, object_id=str(obj.pk)).order_by(
            "-timestamp", "-id"
        )

    def for_model(self, model: type[models.Model]) -> AuditLogQuerySet:
        content_type = ContentType.objects.db_manager(self.db).get_for_model(
            model, for_concrete_model=True
        )
        return self.filter(content_type=content_type)

    def captured(self) -> AuditLogQuerySet:
        return self.filter(action__in=("CREATE", "UPDATE", "DELETE", "TRUNCATE"))
