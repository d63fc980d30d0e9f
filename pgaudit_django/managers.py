"""Query helpers for the audit log."""

from __future__ import annotations

from typing import cast

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q


class AuditLogQuerySet(models.QuerySet):
    def for_object(self, obj: models.Model) -> AuditLogQuerySet:
        """That object's history, newest first, with the m2m rows where it is either side.

        The object's own rows use the (content type, object id) index; m2m rows are matched on
        the through table and the FK column's old/new value in ``changes``.
        """
        from pgaudit_django.history.resolve import through_links

        manager = ContentType.objects.db_manager(self.db)
        content_type = manager.get_for_model(obj, for_concrete_model=True)
        match = Q(content_type=content_type, object_id=str(obj.pk))
        for through, column in through_links(type(obj)):
            if through._meta.auto_created:
                table = Q(content_type__isnull=True, table_name=through._meta.db_table)
            else:
                table = Q(content_type=manager.get_for_model(through, for_concrete_model=True))
            side = Q(**{f"changes__{column}__new": obj.pk}) | Q(
                **{f"changes__{column}__old": obj.pk}
            )
            match |= table & side
        return cast(AuditLogQuerySet, self.filter(match).order_by("-timestamp", "-id"))

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
