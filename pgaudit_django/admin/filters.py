"""Change-list filters for the audit log; none of them runs ``SELECT DISTINCT`` on the log.

* action: the captured actions, the security actions, and every value PostgreSQL's statistics
  have seen in the ``action`` column (``pg_stats`` of each partition, refreshed by ANALYZE),
  plus the value in the URL; the original library offered a fixed list and hid the rest.
* model: the tracked models, from the registry.
* user: the current user, "no user", staff users (a short list; search finds anyone else).
* request / transaction / object: "pinned" filters reached from links ("everything from this
  request"), shown only while active, each resolved through an index.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connections, router
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from pgaudit_django import registry
from pgaudit_django.admin.contexts import context_ids, rows_of_contexts
from pgaudit_django.models import CAPTURED_ACTIONS, AuditContext, AuditLog

# Always offered: a bypass or a disabled block is exactly what an auditor looks for, and being
# rare they are the values statistics are likeliest to miss.
SECURITY_ACTIONS = ("AUDIT_BYPASS", "AUDIT_DISABLED")
MAX_STAFF_CHOICES = 15

_ACTION_STATS_SQL = """
    SELECT DISTINCT v
    FROM pg_stats AS s
    CROSS JOIN LATERAL unnest(
        coalesce(s.most_common_vals::text::text[], '{}')
        || coalesce(s.histogram_bounds::text::text[], '{}')) AS v
    WHERE s.attname = 'action'
      AND s.schemaname = current_schema()
      AND s.tablename::regclass IN (
          SELECT relid FROM pg_partition_tree(%s::regclass) UNION ALL SELECT %s::regclass)
"""


def actions_seen(using: str = "default") -> set[str]:
    """Values of ``action`` known to PostgreSQL's statistics (no scan of the log)."""
    table = AuditLog._meta.db_table
    with connections[using].cursor() as cursor:
        cursor.execute(_ACTION_STATS_SQL, [table, table])
        return {row[0] for row in cursor.fetchall()}


class ActionFilter(admin.SimpleListFilter):
    title = _("action")
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, str]]:
        seen = actions_seen(router.db_for_read(AuditLog))
        values = set(CAPTURED_ACTIONS) | set(SECURITY_ACTIONS) | seen
        current = self.value()
        if current:
            values.add(current)
        captured = [a for a in CAPTURED_ACTIONS if a in values]
        others = sorted(values - set(CAPTURED_ACTIONS))
        return [(a, a) for a in captured + others]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return cast(QuerySet[Any], queryset.filter(action=value)) if value else queryset


def tracked_content_types() -> list[tuple[ContentType, type[Model]]]:
    """Content types of the tracked models (ContentType's cache: no query after the first)."""
    models = [r.model for r in registry.registrations()]
    by_model = ContentType.objects.get_for_models(*models, for_concrete_models=True)
    return sorted(
        ((ct, model) for model, ct in by_model.items()),
        key=lambda pair: str(pair[1]._meta.verbose_name_plural).lower(),
    )


def _int(value: str | None, what: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value))
    except (TypeError, ValueError) as exc:
        raise IncorrectLookupParameters(f"{what} must be a number, got {value!r}") from exc


class ModelFilter(admin.SimpleListFilter):
    title = _("model")
    parameter_name = "model"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, str]]:
        choices = [
            (str(ct.pk), f"{str(model._meta.verbose_name_plural).capitalize()} ({ct.app_label})")
            for ct, model in tracked_content_types()
        ]
        value = self.value()
        if value and value not in {c[0] for c in choices}:
            # A model tracked once and no longer, or an event about an untracked model.
            ct = ContentType.objects.filter(pk=_int(value, "model")).first()
            choices.append((value, f"{ct.app_label}.{ct.model}" if ct else value))
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        ct_id = _int(self.value(), "model")
        return (
            cast(QuerySet[Any], queryset.filter(content_type_id=ct_id))
            if ct_id is not None
            else queryset
        )


class UserFilter(admin.SimpleListFilter):
    title = _("user")
    parameter_name = "user"
    NOBODY = "none"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, str]]:
        user_model = get_user_model()
        me = request.user
        choices: list[tuple[str, str]] = []
        if getattr(me, "pk", None) is not None:
            choices.append((str(me.pk), _("me (%(name)s)") % {"name": me.get_username()}))
        choices.append((self.NOBODY, str(_("no user (system, scripts, SQL)"))))
        staff = (
            user_model._default_manager.filter(is_staff=True)
            .exclude(pk=getattr(me, "pk", None))
            .order_by(user_model.USERNAME_FIELD)[:MAX_STAFF_CHOICES]
            if hasattr(user_model, "is_staff")
            else []
        )
        choices.extend((str(u.pk), u.get_username()) for u in staff)
        value = self.value()
        if value and value not in {c[0] for c in choices}:
            user = user_model._default_manager.filter(pk=self.user_pk(value)).first()
            label = user.get_username() if user else _("user %(pk)s") % {"pk": value}
            choices.append((value, label))
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        if value == self.NOBODY:
            return cast(QuerySet[Any], queryset.filter(user_id__isnull=True))
        return cast(QuerySet[Any], queryset.filter(user_id=self.user_pk(value)))

    @staticmethod
    def user_pk(value: str) -> Any:
        try:
            return get_user_model()._meta.pk.to_python(value)
        except (ValidationError, ValueError) as exc:  # a hand-edited URL
            raise IncorrectLookupParameters(f"bad user {value!r}") from exc


class PinnedFilter(admin.SimpleListFilter):
    """A filter reached through a link: shown (with its "All" way out) only while active."""

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, str]]:
        value = self.value()
        return [(value, value)] if value else []


class RequestFilter(PinnedFilter):
    title = _("request")
    parameter_name = "request_id"

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        # The (partial) request-id index of the context table, then the rows (contexts.py).
        ids = context_ids(
            AuditContext.objects.using(queryset.db).filter(request_id=value).exclude(request_id="")
        )
        return cast(QuerySet[Any], queryset.filter(rows_of_contexts(ids, queryset.db)))


class TransactionFilter(PinnedFilter):
    title = _("transaction")
    parameter_name = "transaction"

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        tx = _int(self.value(), "transaction")
        if tx is None:
            return queryset
        ids = context_ids(AuditContext.objects.using(queryset.db).filter(transaction_id=tx))
        return cast(QuerySet[Any], queryset.filter(rows_of_contexts(ids, queryset.db)))


class ObjectFilter(PinnedFilter):
    """``?object=<content type id>:<object id>``: one object's history (the object index)."""

    title = _("object")
    parameter_name = "object"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, str]]:
        value = self.value()
        if not value:
            return []
        ct_id, object_id = self.parse(value)
        try:
            model = ContentType.objects.get_for_id(ct_id).model_class()
        except ContentType.DoesNotExist:
            model = None
        label = f"{model._meta.verbose_name} {object_id}" if model else value
        return [(value, label)]

    @staticmethod
    def parse(value: str) -> tuple[int, str]:
        ct, sep, object_id = value.partition(":")
        ct_id = _int(ct, "object")
        if not sep or ct_id is None:
            raise IncorrectLookupParameters(f"bad object {value!r}")
        return ct_id, object_id

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        ct_id, object_id = self.parse(value)
        return cast(QuerySet[Any], queryset.filter(content_type_id=ct_id, object_id=object_id))


def object_filter_value(content_type_id: int, object_id: str) -> str:
    return f"{content_type_id}:{object_id}"
