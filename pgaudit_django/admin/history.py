"""``AuditHistoryMixin``: an "Audit history" button and page on a tracked model's own admin.

The page lists, newest first:

* every captured change of the object: saves, ``QuerySet.update()``/``bulk_update()``, raw SQL
  and ``psql`` sessions alike (the triggers capture them all), and its deletion;
* if the admin declares ``audit_history_children``, the creation, deletion and re-parenting of
  child rows: ``[("shop.Invoice", "customer_id")]`` shows the audit rows of ``Invoice`` whose
  captured ``customer_id`` (old or new value) is this object's primary key. Updates of a child
  that leave its foreign key alone are on the child's own history page: the changed fields of
  an UPDATE row do not include an unchanged foreign key.

Cost: one short index read per source and page (keyset pagination, no count). The object's own
rows come from the (content type, object id, timestamp) index. Child rows are found through
``changes #>> '{<fk>,old|new}'``; without an index PostgreSQL reads every audit row of the
child model, so large installations create the two expression indexes that
``history_index_sql()`` prints (``CONCURRENTLY``, partition by partition: an ordinary CREATE
INDEX on the partitioned table would block every audited write while it builds). The page never
creates indexes itself; past ``CHILD_SCAN_MAX_ROWS`` audit rows it leaves out the children whose
indexes are missing and says so.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import quote, unquote
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, models, router
from django.db.models import Q
from django.db.models.fields.json import KT
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import select_template
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _

from pgaudit_django.admin import diff
from pgaudit_django.admin.paginator import estimated_rows
from pgaudit_django.models import AuditLog

HISTORY_TEMPLATE = "admin/pgaudit/object_history.html"
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
# Up to this many audit rows (planner estimate), child rows are looked up even without their
# indexes: an unindexed lookup reads every audit row of the child model, ~0.8 ms per 1,000 rows
# measured here, so about 150 ms at this size and seconds at millions.
CHILD_SCAN_MAX_ROWS = 200_000
CHANGE_FORM_TEMPLATE = "admin/pgaudit/change_form_with_history.html"


def can_view_audit_log(request: HttpRequest, site: admin.AdminSite) -> bool:
    audit_admin = site._registry.get(AuditLog)
    if audit_admin is not None:
        return bool(audit_admin.has_view_permission(request))
    return bool(request.user.has_perm("pgaudit.view_auditlog"))


class AuditHistoryMixin:
    """Mix into a ``ModelAdmin`` of a tracked model: ``class CustomerAdmin(AuditHistoryMixin,
    admin.ModelAdmin)``. Optional: ``audit_history_children = [("app.Child", "parent_id")]``."""

    audit_history_children: Sequence[tuple[str, str]] = ()
    audit_history_per_page = 50
    audit_history_template = HISTORY_TEMPLATE

    # Provided by ModelAdmin.
    model: type[models.Model]
    opts: Any
    admin_site: admin.AdminSite
    change_form_template: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The button template extends whatever change form this admin used before (the
        # User admin has its own), chosen at render time.
        self.pgaudit_parent_change_form = self.change_form_template
        self.change_form_template = CHANGE_FORM_TEMPLATE

    # --- wiring ---------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        info = (self.opts.app_label, self.opts.model_name)
        own = [
            path(
                "<path:object_id>/audit-history/",
                self.admin_site.admin_view(self.audit_history_view),
                name="{}_{}_audit_history".format(*info),
            )
        ]
        # Before ModelAdmin's catch-all "<path:object_id>/" redirect.
        inherited: list[URLPattern] = super().get_urls()  # type: ignore[misc]
        return own + inherited

    def _parent_change_form(self) -> Any:
        opts = self.opts
        names = (
            [self.pgaudit_parent_change_form]
            if self.pgaudit_parent_change_form
            else [
                f"admin/{opts.app_label}/{opts.model_name}/change_form.html",
                f"admin/{opts.app_label}/change_form.html",
                "admin/change_form.html",
            ]
        )
        return select_template(names)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        context["pgaudit_parent_template"] = self._parent_change_form()
        if change and obj is not None and can_view_audit_log(request, self.admin_site):
            context["pgaudit_history_url"] = self.audit_history_url(obj.pk)
        return super().render_change_form(  # type: ignore[misc, no-any-return]
            request, context, add=add, change=change, form_url=form_url, obj=obj
        )

    def audit_history_url(self, pk: Any) -> str:
        info = (self.admin_site.name, self.opts.app_label, self.opts.model_name)
        return reverse("{}:{}_{}_audit_history".format(*info), args=[quote(pk)])

    # --- the page -------------------------------------------------------------------------

    def audit_history_children_listed(self) -> list[tuple[str, str]]:
        """The declared children that are cheap to look up here: those with their indexes, or
        all of them while the audit table is small enough to scan."""
        children = list(self.audit_history_children)
        if not children:
            return []
        db = router.db_for_read(AuditLog)
        estimate = estimated_rows(AuditLog.objects.using(db))
        if estimate is None or estimate <= CHILD_SCAN_MAX_ROWS:
            return children
        names = [
            history_index_name(label, fk, side) for label, fk in children for side in ("old", "new")
        ]
        with connections[db].cursor() as cursor:
            cursor.execute(
                "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relkind IN ('I', 'i')",
                [names],
            )
            present = {row[0] for row in cursor.fetchall()}
        return [
            (label, fk)
            for label, fk in children
            if {history_index_name(label, fk, "old"), history_index_name(label, fk, "new")}
            <= present
        ]

    def audit_history_sources(
        self, pk: Any, children: Sequence[tuple[str, str]] | None = None
    ) -> list[models.QuerySet[AuditLog]]:
        """One queryset per index: the object's own rows, then per child the rows whose old,
        resp. new, foreign key value is ``pk``. Kept apart (not OR-ed) so that each is read in
        timestamp order from its own index and stops after one page: an OR makes PostgreSQL
        guess, and a wrong guess walks the whole table backwards."""
        db = router.db_for_read(AuditLog)
        types = ContentType.objects.db_manager(db)
        own_ct = types.get_for_model(self.model, for_concrete_model=True)
        logs = AuditLog.objects.using(db)
        sources = [logs.filter(content_type_id=own_ct.pk, object_id=str(pk))]
        if children is None:
            children = self.audit_history_children
        for label, fk_attname in children:
            child_ct = types.get_for_model(apps.get_model(label), for_concrete_model=True)
            # ``#>>`` compares text: a captured integer key (a JSON number) and a text or uuid
            # key (a JSON string) both read back as str(pk). ``?`` matches the partial index.
            has_key = logs.filter(content_type_id=child_ct.pk, changes__has_key=fk_attname)
            for side in ("old", "new"):
                sources.append(
                    has_key.alias(pgaudit_fk=KT(f"changes__{fk_attname}__{side}")).filter(
                        pgaudit_fk=str(pk)
                    )
                )
        return sources

    def audit_history_page(
        self,
        pk: Any,
        before: HistoryCursor | None = None,
        size: int | None = None,
        children: Sequence[tuple[str, str]] | None = None,
    ) -> tuple[list[AuditLog], HistoryCursor | None]:
        """The newest ``size`` rows older than ``before``, and the cursor of the next page.

        Keyset pagination: every page costs one short index read per source, however far back
        it is (an OFFSET would read and discard all the newer rows).
        """
        size = size or self.audit_history_per_page
        rows: dict[int, AuditLog] = {}
        for source in self.audit_history_sources(pk, children):
            if before is not None:
                # The first condition is the indexable one; the second breaks timestamp ties.
                source = source.filter(timestamp__lte=before.timestamp).filter(
                    Q(timestamp__lt=before.timestamp) | Q(id__lt=before.id)
                )
            page = source.select_related("user", "context", "content_type").order_by(
                "-timestamp", "-id"
            )[: size + 1]
            rows.update((entry.id, entry) for entry in page)
        ordered = sorted(rows.values(), key=lambda e: (e.timestamp, e.id), reverse=True)
        entries = ordered[:size]
        more = len(ordered) > size
        return entries, (HistoryCursor(entries[-1].timestamp, entries[-1].id) if more else None)

    def audit_history_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        model_admin: Any = self
        obj = model_admin.get_object(request, unquote(object_id))
        if obj is None:
            # Deleted objects keep their history; model-level permission decides.
            if not model_admin.has_view_or_change_permission(request):
                raise PermissionDenied
            try:
                pk = self.opts.pk.to_python(unquote(object_id))
            except ValidationError as exc:
                raise Http404(str(exc)) from exc
        else:
            if not model_admin.has_view_or_change_permission(request, obj):
                raise PermissionDenied
            pk = obj.pk
        if not can_view_audit_log(request, self.admin_site):
            raise PermissionDenied

        before = HistoryCursor.parse(request.GET.get("before"))
        children = self.audit_history_children_listed()
        entries, next_cursor = self.audit_history_page(pk, before, children=children)
        if obj is None and not entries and before is None:
            raise Http404(_("No such object and no audit history for it."))
        rows = [
            {
                "entry": entry,
                "is_own": diff.model_of(entry) is self.model,
                "changes": diff.render_changes(entry),
                "source": diff.source_label(entry.context.source) if entry.context else "",
                "detail_url": reverse(
                    f"{self.admin_site.name}:pgaudit_auditlog_change", args=[entry.pk]
                ),
            }
            for entry in entries
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Audit history: %(object)s")
            % {"object": str(obj) if obj is not None else f"{self.opts.verbose_name} {pk}"},
            "subtitle": None,
            "opts": self.opts,
            "object": obj,
            "object_pk": pk,
            "rows": rows,
            "is_first_page": before is None,
            "older_url": f"?{urlencode({'before': next_cursor})}" if next_cursor else None,
            "children": [
                str(apps.get_model(label)._meta.verbose_name_plural) for label, _fk in children
            ],
            "children_skipped": [
                str(apps.get_model(label)._meta.verbose_name_plural)
                for label, fk in self.audit_history_children
                if (label, fk) not in children
            ],
            "has_view_permission": True,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.audit_history_template, context)


@dataclass(frozen=True)
class HistoryCursor:
    """Where a history page ends: the (timestamp, id) of its last row, the table's key order."""

    timestamp: datetime.datetime
    id: int

    def __str__(self) -> str:
        micros = (self.timestamp - EPOCH) // datetime.timedelta(microseconds=1)
        return f"{micros}.{self.id}"

    @classmethod
    def parse(cls, value: str | None) -> HistoryCursor | None:
        if not value:
            return None
        micros, _sep, pk = value.partition(".")
        try:
            return cls(EPOCH + datetime.timedelta(microseconds=int(micros)), int(pk))
        except (ValueError, OverflowError) as exc:
            raise Http404(f"bad history cursor {value!r}") from exc


def history_index_name(child_label: str, fk_attname: str, side: str) -> str:
    digest = hashlib.sha1(f"{child_label}:{fk_attname}".encode()).hexdigest()[:12]
    return f"pgaudit_child_{digest}_{side}"


def history_index_sql(model_admin: Any, using: str = "default") -> list[str]:
    """The statements creating the child-history indexes without blocking writes.

    ``CREATE INDEX … ON ONLY`` the partitioned table (instant, invalid until complete), one
    ``CREATE INDEX CONCURRENTLY`` per partition (writes continue), then ``ATTACH PARTITION``;
    partitions created later get the index automatically. Run them outside a transaction
    (``psql -f``); each is idempotent.
    """
    table = AuditLog._meta.db_table
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT relid::regclass::text FROM pg_partition_tree(%s::regclass) WHERE isleaf",
            [table],
        )
        partitions = [row[0] for row in cursor.fetchall()]
    statements = []
    for label, fk_attname in getattr(model_admin, "audit_history_children", ()):
        fk = fk_attname.replace("'", "''")
        for side in ("old", "new"):
            name = history_index_name(label, fk_attname, side)
            columns = f"(content_type_id, (changes #>> '{{{fk},{side}}}'), timestamp DESC)"
            where = f"WHERE changes ? '{fk}'"
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {name} ON ONLY {table} {columns} {where};"
            )
            for number, partition in enumerate(partitions):
                part_index = f"{name[:55]}_{number}"
                statements.append(
                    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {part_index} ON {partition} "
                    f"{columns} {where};"
                )
                statements.append(f"ALTER INDEX {name} ATTACH PARTITION {part_index};")
    return statements
