"""Admins for the ORM-side event tables: login attempts, data exports, system events.

All read-only (``ReadOnlyAuditAdmin``) except one thing: a system event's resolution. Staff with
the change permission resolve events through the "mark resolved" action or the resolution
fields of the change form (every other field stays read-only), and that change is itself
recorded: by the capture triggers when ``SystemEvent`` is tracked, otherwise as an audit event.
"""

from __future__ import annotations

import ipaddress
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pgaudit_django import registry
from pgaudit_django.admin.readonly import ReadOnlyAuditAdmin
from pgaudit_django.models import LoginAttempt, SystemEvent
from pgaudit_django.utils import log_audit_event

MAX_RESOLVE = 1000


def _ip_q(term: str) -> Q | None:
    try:
        return Q(ip_address=str(ipaddress.ip_address(term.strip())))
    except ValueError:
        return None


class _EventAdmin(ReadOnlyAuditAdmin):
    date_hierarchy = "timestamp"
    ordering = ("-timestamp", "-id")
    sortable_by = ()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        q = self.search_q(term)
        return (queryset.filter(q) if q is not None else queryset.none()), False

    def search_q(self, term: str) -> Q | None:
        return _ip_q(term)


class LoginAttemptAdmin(_EventAdmin):
    list_display = ("timestamp", "username", "status", "ip_address", "place", "failure_reason")
    list_filter = ("status", ("timestamp", admin.DateFieldListFilter))
    search_fields = ("username",)
    search_help_text = gettext_lazy("Exact username (any case) or IP address.")

    def get_queryset(self, request: HttpRequest) -> QuerySet[LoginAttempt]:
        queryset = super().get_queryset(request).alias(username_lower=Lower("username"))
        return cast(QuerySet[LoginAttempt], queryset)

    def search_q(self, term: str) -> Q | None:
        # lower(username) is what the lockout index holds.
        q = Q(username_lower=term.lower())
        ip = _ip_q(term)
        return q | ip if ip is not None else q

    @admin.display(description=gettext_lazy("place"))
    def place(self, attempt: LoginAttempt) -> str:
        return ", ".join(p for p in (attempt.city, attempt.country) if p)


class DataExportAdmin(_EventAdmin):
    list_display = (
        "timestamp",
        "username",
        "export_type",
        "file_format",
        "record_count",
        "file_size",
        "download_count",
        "ip_address",
    )
    list_filter = (("timestamp", admin.DateFieldListFilter),)
    search_fields = ("username",)
    search_help_text = gettext_lazy("Exact username.")

    def search_q(self, term: str) -> Q | None:
        return Q(username=term)


class SystemEventForm(forms.ModelForm):
    class Meta:
        model = SystemEvent
        fields = ("resolved", "resolution_notes")


def record_resolution(request: HttpRequest, event: SystemEvent, before: dict[str, Any]) -> None:
    """Write an audit row for a resolution, unless the capture triggers already did."""
    if registry.get_registration(SystemEvent) is not None:
        return
    after = {name: getattr(event, name) for name in before}
    changes = {
        name: {"old": before[name], "new": after[name]}
        for name in before
        if before[name] != after[name]
    }
    log_audit_event(
        user=request.user,
        action="RESOLVE" if event.resolved else "REOPEN",
        content_object=event,
        changes=changes,
        request=request,
    )


def _resolution(event: SystemEvent) -> dict[str, Any]:
    return {
        "resolved": event.resolved,
        "resolution_notes": event.resolution_notes,
        "resolved_by_username": event.resolved_by_username,
    }


@admin.action(description=gettext_lazy("Mark selected events as resolved"), permissions=["change"])
def mark_resolved(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[SystemEvent]
) -> None:
    events = list(queryset.filter(resolved=False).order_by("-timestamp", "-id")[: MAX_RESOLVE + 1])
    if len(events) > MAX_RESOLVE:
        modeladmin.message_user(
            request,
            _("More than %(max)s unresolved events selected: narrow the selection.")
            % {"max": MAX_RESOLVE},
            messages.ERROR,
        )
        return
    for event in events:
        before = _resolution(event)
        event.mark_resolved(user=request.user, notes=event.resolution_notes)
        record_resolution(request, event, before)
    modeladmin.message_user(
        request,
        _("%(count)s event(s) marked as resolved.") % {"count": len(events)},
        messages.SUCCESS,
    )


class SystemEventAdmin(_EventAdmin):
    list_display = (
        "timestamp",
        "event_type",
        "title",
        "username",
        "ip_address",
        "resolved",
        "resolved_by_username",
    )
    list_filter = ("event_type", "resolved", ("timestamp", admin.DateFieldListFilter))
    search_fields = ("ip_address",)
    search_help_text = gettext_lazy("Exact IP address.")
    actions = (mark_resolved,)
    form = SystemEventForm
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "timestamp",
                    "event_type",
                    "title",
                    "description",
                    "username",
                    "ip_address",
                    "user_agent",
                    "path",
                )
            },
        ),
        (
            gettext_lazy("Technical details"),
            {
                "classes": ("collapse",),
                "fields": (
                    "module",
                    "function_name",
                    "line_number",
                    "error_code",
                    "stack_trace",
                    "details",
                ),
            },
        ),
        (
            gettext_lazy("Resolution"),
            {"fields": ("resolved", "resolution_notes", "resolved_at", "resolved_by_username")},
        ),
    )
    # Everything but the two resolution inputs; in view-only mode Django shows them read-only too.
    readonly_fields = (
        "timestamp",
        "event_type",
        "title",
        "description",
        "username",
        "ip_address",
        "user_agent",
        "path",
        "module",
        "function_name",
        "line_number",
        "error_code",
        "stack_trace",
        "details",
        "resolved_at",
        "resolved_by_username",
    )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The resolution is the one editable thing: Django's usual permission check.
        return admin.ModelAdmin.has_change_permission(self, request, obj)

    def save_model(self, request: HttpRequest, obj: SystemEvent, form: Any, change: bool) -> None:
        stored = SystemEvent.objects.get(pk=obj.pk)
        before = _resolution(stored)
        notes = form.cleaned_data.get("resolution_notes", "")
        if obj.resolved and not stored.resolved:
            stored.mark_resolved(user=request.user, notes=notes)
        elif not obj.resolved and stored.resolved:
            stored.resolved, stored.resolved_at = False, None
            stored.resolved_by_id, stored.resolved_by_username = None, ""
            stored.resolution_notes = notes
            stored.save(
                update_fields=[
                    "resolved",
                    "resolved_at",
                    "resolved_by",
                    "resolved_by_username",
                    "resolution_notes",
                ]
            )
        elif notes != stored.resolution_notes:
            stored.resolution_notes = notes
            stored.save(update_fields=["resolution_notes"])
        else:
            return
        record_resolution(request, stored, before)
