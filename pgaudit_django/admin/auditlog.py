"""The audit log admin: a read-only console that stays fast on tens of millions of rows.

What keeps it fast:

* the only ordering is the default ``-timestamp, -id``: the table's primary key (timestamp, id),
  read backwards on each partition; columns are not sortable (``sortable_by = ()``);
* user, context and content type come in the page's one query (``list_select_related``);
  object links cost one ``pk IN (…)`` query per model on the page (``links.py``);
* counts are estimated or capped (``paginator.py``), filters never ``SELECT DISTINCT``
  (``filters.py``), the date drill-down costs two index probes (``dates.py``), and search uses
  indexed columns only (``search.py``).
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pgaudit_django.admin import diff, export
from pgaudit_django.admin.filters import (
    ActionFilter,
    ModelFilter,
    ObjectFilter,
    RequestFilter,
    TransactionFilter,
    UserFilter,
    object_filter_value,
)
from pgaudit_django.admin.links import URL_ATTR, attach_object_urls, object_url
from pgaudit_django.admin.readonly import AuditChangeList, ReadOnlyAuditAdmin
from pgaudit_django.admin.search import audit_search_q
from pgaudit_django.models import AuditContext, AuditLog

SELECT_RELATED = ("user", "context", "content_type")
CONTEXT_FIELDSET = gettext_lazy("Context")
# Computed displays of the entry's context: shown in the "Context" fieldset, all read-only.
CONTEXT_DISPLAY_FIELDS = (
    "who",
    "context_source",
    "ip",
    "user_agent_display",
    "request_display",
    "http",
    "reason_display",
    "db_session",
    "transaction_display",
    "metadata_display",
)


def changelist_url(**params: Any) -> str:
    return reverse("admin:pgaudit_auditlog_changelist") + "?" + urlencode(params)


def build_changelist(params: dict[str, str] | None = None, user: Any = None) -> ChangeList:
    """Run the list page's database work for these URL parameters (filters, ``q``, ``p``).

    For benchmarks: building it runs the count, the page query, the object links and the date
    drill-down, exactly as the page does, without HTML rendering; ``cl.queryset`` is the filtered
    queryset, ``cl.result_list`` the page, ``cl.paginator.count`` the (estimated) count. Pass a
    superuser as ``user`` to include the object-link queries.
    """
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory

    request = RequestFactory().get("/", params or {})
    request.user = user if user is not None else AnonymousUser()
    model_admin = admin.site._registry.get(AuditLog)
    if not isinstance(model_admin, AuditLogAdmin):
        model_admin = AuditLogAdmin(AuditLog, admin.site)
    return model_admin.build_changelist(request)


def changelist_queryset(**params: str) -> QuerySet[AuditLog]:
    """The filtered, ordered queryset of the list page for these URL parameters (unsliced)."""
    return cast(QuerySet[AuditLog], build_changelist(params).queryset)


class AuditLogChangeList(AuditChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        # Evaluate the page once and link its objects with one query per model.
        self.result_list = list(self.result_list)
        attach_object_urls(request, self.model_admin.admin_site, self.result_list)


class AuditLogAdmin(ReadOnlyAuditAdmin):
    list_display = (
        "when",
        "who",
        "action",
        "object",
        "summary",
        "ip",
        "request",
    )
    list_display_links = ("when",)
    list_filter = (
        ActionFilter,
        ModelFilter,
        UserFilter,
        ("timestamp", admin.DateFieldListFilter),
        RequestFilter,
        TransactionFilter,
        ObjectFilter,
    )
    list_select_related = SELECT_RELATED
    date_hierarchy = "timestamp"
    ordering = ("-timestamp", "-id")
    sortable_by = ()
    # Shows the search box; get_search_results does the actual (indexed, exact) matching.
    search_fields = ("object_id",)
    search_help_text = gettext_lazy(
        "Exact object id, username, request id or IP address (indexed lookups only)."
    )
    actions = (export.export_csv, export.export_jsonl)
    fieldsets = (
        (None, {"fields": ("timestamp", "action", "object_link", "history_links")}),
        (gettext_lazy("Changes"), {"fields": ("changes_table",)}),
        (
            CONTEXT_FIELDSET,
            {
                "fields": (*CONTEXT_DISPLAY_FIELDS, "module"),
            },
        ),
    )
    readonly_fields = ("object_link", "history_links", "changes_table", *CONTEXT_DISPLAY_FIELDS)

    def get_fieldsets(self, request: HttpRequest, obj: AuditLog | None = None) -> Any:
        """The context fieldset lists only what was recorded: a psql session has no IP address,
        user agent or request id, and empty rows would only hide the rest."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets

        def recorded(name: str) -> bool:
            method = getattr(self, name, None)
            value = method(obj) if callable(method) else getattr(obj, name, "")
            return value not in (None, "")

        return [
            (
                title,
                {
                    **options,
                    "fields": [f for f in options["fields"] if isinstance(f, str) and recorded(f)],
                },
            )
            if title == CONTEXT_FIELDSET
            else (title, options)
            for title, options in fieldsets
        ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditLog]:
        return cast(
            QuerySet[AuditLog], super().get_queryset(request).select_related(*SELECT_RELATED)
        )

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return AuditLogChangeList

    def build_changelist(self, request: HttpRequest) -> ChangeList:
        """``get_changelist_instance`` without the action checkbox column (no permission check)."""
        list_display = self.get_list_display(request)
        return self.get_changelist(request)(
            request,
            self.model,
            list_display,
            self.get_list_display_links(request, list_display),
            self.get_list_filter(request),
            self.date_hierarchy,
            self.get_search_fields(request),
            self.get_list_select_related(request),
            self.list_per_page,
            self.list_max_show_all,
            self.list_editable,
            self,
            self.sortable_by,
            str(self.search_help_text) if self.search_help_text else None,
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[AuditLog], search_term: str
    ) -> tuple[QuerySet[AuditLog], bool]:
        if not search_term.strip():
            return queryset, False
        return queryset.filter(audit_search_q(search_term, queryset.db)), False

    # --- list columns ---------------------------------------------------------------------

    @admin.display(description=gettext_lazy("time"))
    def when(self, entry: AuditLog) -> str:
        # Sortable ISO-like local time: compact, and unambiguous for an auditor.
        return date_format(timezone.localtime(entry.timestamp), "Y-m-d H:i:s")

    @admin.display(description=gettext_lazy("user"))
    def who(self, entry: AuditLog) -> str | SafeString:
        context = entry.context if entry.context_id else None
        if entry.user_id is not None:
            name = entry.user.get_username() if entry.user else None
            if name is None:  # the user was deleted since; the context kept a label
                label = (context.user_label if context else "") or f"#{entry.user_id}"
                name = _("%(label)s (deleted user)") % {"label": label}
            return format_html(
                '<a href="{}" title="{}">{}</a>',
                changelist_url(user=entry.user_id),
                _("Everything by this user"),
                name,
            )
        if context is not None and context.source == "database":
            return _("SQL session (%(role)s)") % {"role": context.db_role}
        if context is not None and context.user_label:
            return context.user_label
        return _("no user (%(source)s)") % {
            "source": diff.source_label(context.source) if context else "?"
        }

    @admin.display(description=gettext_lazy("object"))
    def object(self, entry: AuditLog) -> str | SafeString:
        model = diff.model_of(entry)
        kind = str(model._meta.verbose_name) if model else (entry.table_name or "")
        if entry.object_repr:
            label, suffix = entry.object_repr, kind
        else:  # no repr field configured: "customer 12"
            label, suffix = f"{kind} {entry.object_id or ''}".strip(), ""
        url = getattr(entry, URL_ATTR, None)
        link = format_html('<a href="{}">{}</a>', url, label) if url else label
        if not suffix:
            return format_html("{}", link)
        return format_html('{} <span class="pgaudit-kind">{}</span>', link, suffix)

    @admin.display(description=gettext_lazy("what changed"))
    def summary(self, entry: AuditLog) -> str:
        return diff.summarize(entry)

    @admin.display(description=gettext_lazy("IP address"))
    def ip(self, entry: AuditLog) -> str:
        context = entry.context if entry.context_id else None
        return str(context.ip_address) if context and context.ip_address else ""

    @admin.display(description=gettext_lazy("request / transaction"))
    def request(self, entry: AuditLog) -> SafeString | str:
        context = entry.context if entry.context_id else None
        if context is None:
            return ""
        parts = []
        if context.request_id:
            parts.append(
                format_html(
                    '<a href="{}" title="{}">{}</a>',
                    changelist_url(request_id=context.request_id),
                    _("Everything from this request"),
                    Truncator(context.request_id).chars(14),
                )
            )
        parts.append(
            format_html(
                '<a href="{}" title="{}">tx {}</a>',
                changelist_url(transaction=context.transaction_id),
                _("Everything from this transaction"),
                context.transaction_id,
            )
        )
        return format_html(" · ".join(["{}"] * len(parts)), *parts)

    # --- detail page ----------------------------------------------------------------------

    @admin.display(description=gettext_lazy("object"))
    def object_link(self, entry: AuditLog) -> str | SafeString:
        return self.object(entry)

    @admin.display(description=gettext_lazy("history"))
    def history_links(self, entry: AuditLog) -> SafeString | str:
        if not entry.content_type_id or entry.object_id is None:
            return ""
        return format_html(
            '<a href="{}">{}</a>',
            changelist_url(object=object_filter_value(entry.content_type_id, entry.object_id)),
            _("All changes of this object"),
        )

    @admin.display(description=gettext_lazy("changes"))
    def changes_table(self, entry: AuditLog) -> SafeString:
        return diff.render_changes(entry)

    def _context(self, entry: AuditLog) -> AuditContext | None:
        return entry.context if entry.context_id else None

    @admin.display(description=gettext_lazy("source"))
    def context_source(self, entry: AuditLog) -> str:
        context = self._context(entry)
        return diff.source_label(context.source) if context else ""

    @admin.display(description=gettext_lazy("user agent"))
    def user_agent_display(self, entry: AuditLog) -> str:
        return entry.user_agent

    @admin.display(description=gettext_lazy("request id"))
    def request_display(self, entry: AuditLog) -> SafeString | str:
        if not entry.request_id:
            return ""
        return format_html(
            '{} <a href="{}">{}</a>',
            entry.request_id,
            changelist_url(request_id=entry.request_id),
            _("Everything from this request"),
        )

    @admin.display(description=gettext_lazy("HTTP"))
    def http(self, entry: AuditLog) -> str:
        context = self._context(entry)
        if context is None or not context.path:
            return ""
        route = f" (route {context.route})" if context.route else ""
        return f"{context.method} {context.path}{route}"

    @admin.display(description=gettext_lazy("reason"))
    def reason_display(self, entry: AuditLog) -> str:
        return entry.reason

    @admin.display(description=gettext_lazy("database session"))
    def db_session(self, entry: AuditLog) -> str:
        context = self._context(entry)
        if context is None:
            return ""
        parts = [_("role %(role)s") % {"role": context.db_role}]
        if context.application_name:
            parts.append(_("application %(name)s") % {"name": context.application_name})
        if context.client_addr:
            parts.append(_("from %(addr)s") % {"addr": context.client_addr})
        if context.backend_pid:
            parts.append(_("backend pid %(pid)s") % {"pid": context.backend_pid})
        return ", ".join(parts)

    @admin.display(description=gettext_lazy("transaction id"))
    def transaction_display(self, entry: AuditLog) -> SafeString | str:
        if entry.transaction_id is None:
            return ""
        return format_html(
            '{} <a href="{}">{}</a>',
            entry.transaction_id,
            changelist_url(transaction=entry.transaction_id),
            _("Everything from this transaction"),
        )

    @admin.display(description=gettext_lazy("metadata"))
    def metadata_display(self, entry: AuditLog) -> SafeString | str:
        context = self._context(entry)
        if context is None or context.metadata in (None, {}):
            return ""
        return diff.render_value(context.metadata)

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> AuditLog | None:
        entry = super().get_object(request, object_id, from_field)
        if entry is not None:
            # The read-only field callables get the row only; the link needs the user.
            object_url(request, self.admin_site, entry)
        return entry
